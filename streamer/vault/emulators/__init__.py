"""Local emulators of the key services the vault talks to, for tests and demos.

AWS KMS is emulated by moto's server mode (``moto[server]``); Azure Key Vault has no
official emulator, so :mod:`streamer.vault.emulators.azure_keyvault` implements the few
REST calls the vault uses.
"""
