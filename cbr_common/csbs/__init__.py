"""CSBS v1 (Cloud Server Backup Service) rules on top of the shared backup core."""

PROVIDER_ID = 'fc4d5750-22e7-4798-8a46-f48f62c4c1da'  # the only CSBS provider
