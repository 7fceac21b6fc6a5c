"""VBS v2 on the backup core: disk backups in the project's hidden ``vbs`` vault.

Among its modules, ``codes`` holds the ``VolumeBackup.NNNN`` codes and the translation of
the core's errors into them, ``rules`` the VBS-only backup rules (D2 names, D5 quota, 20
backups per disk) and ``backups`` the backup requests and the view of the backups VBS
lists (rule C5); see docs/vbs.md.  ``policies``, ``policy_schema`` and ``policy_codes``
are the backup policies (``AutoBackup.NNNN``); see docs/vbs-policies.md.
"""
