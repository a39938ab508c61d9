"""nkreport: the analysis behind the book on donor-liver NK cells after liver transplantation."""

__version__ = "0.1.0"

#: The seed every stochastic computation of the book starts from.
SEED = 20250117
