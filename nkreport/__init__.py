"""nkreport: the analysis behind the book on donor-liver NK cells after liver transplantation."""

__version__ = "0.2.0"

import zlib

#: The seed every stochastic computation of the book starts from.
SEED = 20250117


def seed_for(name: str) -> int:
    """The one seed derivation: :data:`SEED` combined with the name of a computation (CRC-32),
    stable across runs and machines, so two computations never share a random stream."""
    return (SEED + zlib.crc32(name.encode())) % (2**31 - 1)
