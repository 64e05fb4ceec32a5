"""The Studio (see :mod:`.studio`): the headless heart the app and the commands share."""

from .studio import Retry, Studio, Totals

__all__ = ["Retry", "Studio", "Totals"]
