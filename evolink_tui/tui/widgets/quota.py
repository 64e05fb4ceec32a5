"""The file quota on one line: a bar, used of max, what is left, the user group."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from evolink_tui.core.wire import Quota

from ..format import bar, plain


def quota_line(quota: Quota | None, width: int = 16, *, group: bool = True) -> Content:
    if quota is None:
        return Content.styled("Quota: reading…", "dim")
    maximum = max(quota.max_files, 1)
    share = 100 * quota.used_files / maximum
    role = "$error" if quota.remain_files <= 0 else "$warning" if share >= 90 else "$success"
    parts: list = [
        ("Quota ", "bold"),
        (bar(round(share), width), role),
        f" {quota.used_files} of {quota.max_files} files used · ",
        (f"{quota.remain_files} left", "bold"),
    ]
    if quota.user_group and group:
        parts.append((f" · group {plain(quota.user_group, 20)}", "dim"))
    if quota.remain_files <= 0:
        parts.append((" · full: delete files to upload more", "bold $error"))
    return Content.assemble(*parts)


class QuotaBar(Widget):
    """``quota`` is the last Quota read (None until the first answer)."""

    DEFAULT_CSS = """
    QuotaBar {
        height: 1;
    }
    """

    quota: reactive[Quota | None] = reactive(None, always_update=True)

    def render(self) -> Content:
        width = 16 if self.size.width >= 70 else 8
        line = quota_line(self.quota, width)
        if line.cell_length > self.size.width:  # what is wrong and what to do outrank the group
            line = quota_line(self.quota, width, group=False)
        if line.cell_length > self.size.width:
            line = quota_line(self.quota, 8, group=False)
        return line
