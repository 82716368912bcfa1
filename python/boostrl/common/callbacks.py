"""``from boostrl.common.callbacks import ...``, as SB3's. Callbacks of SB3
itself work too (duck-typed: boostrl never imports SB3 or torch)."""

from ..callbacks import *  # noqa: F401,F403 - the same names as SB3's module
from ..callbacks import __all__  # noqa: F401
