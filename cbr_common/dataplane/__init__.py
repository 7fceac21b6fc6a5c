"""The data plane: the simulated disks and file systems (volume store) that backups read
and restores write."""
