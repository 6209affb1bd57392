"""The ends of the caller's jobs that no wait has returned yet: what
``wait()`` with no job id takes from, oldest first.

Both clients keep one :class:`EndBook`, fed by a Watch stream of the
caller's job ends (``mine``) that they open before their first submit, so
no job they submit can end unseen. A job waited for by id is *claimed*:
taken out of the book, or, when its end has not come in yet, dropped
when it does (the two streams see the same end at nearly the same time).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Optional

from .types import Event

#: Claims remembered at most: a claim whose end never comes (a job that
#: ended before the stream started) is forgotten after this many more.
MAX_CLAIMS = 1 << 16


class EndBook:
    """Ended jobs not yet waited for, in the order they ended."""

    def __init__(self) -> None:
        self._ended: "OrderedDict[int, Event]" = OrderedDict()
        self._claimed: "OrderedDict[int, None]" = OrderedDict()

    def add(self, event: Event) -> None:
        """A job ended (an end event came in)."""
        if event.job_id in self._claimed:
            del self._claimed[event.job_id]
            return
        self._ended.setdefault(event.job_id, event)

    def pop(self) -> Optional[Event]:
        """The oldest end not yet waited for, taken out; None when none."""
        if not self._ended:
            return None
        return self._ended.popitem(last=False)[1]

    def claim(self, job_id: int) -> None:
        """Job ``job_id`` was waited for by id: never return it."""
        if self._ended.pop(job_id, None) is not None:
            return
        self._claimed[job_id] = None
        while len(self._claimed) > MAX_CLAIMS:
            self._claimed.popitem(last=False)

    def __len__(self) -> int:
        return len(self._ended)
