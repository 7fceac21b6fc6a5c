"""The simulated inventory's APIs: EVS disks, ECS servers, SFS Turbo and the job API."""
