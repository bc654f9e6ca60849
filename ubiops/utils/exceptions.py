"""``ubiops.utils.exceptions`` as the public client has it: ``from ubiops.utils.exceptions import StatusError``."""

from ubiops.exceptions import UbiOpsException
from ubiops.utils.errors import StatusError

__all__ = ["StatusError", "UbiOpsException"]
