"""emlab: emergent-misalignment research and fine-tuning audits."""

from emlab._version import __version__
from emlab.errors import EmlabError

__all__ = ["EmlabError", "__version__"]
