"""upload, files and delete: the Files API."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from ..cli import EXIT_BAD_INPUT, EXIT_OK
from ..core.errors import ValidationError
from ..core.imagetypes import is_url
from ..core.validation import human_size
from ..core.wire import FileInfo
from ..runtime import make_client
from .output import Output, retry_listener, settings_for, whole


def _file_line(info: FileInfo) -> str:
    expires = info.expires_at.strftime("%Y-%m-%d %H:%M UTC") if info.expires_at else "?"
    return f"{info.file_id}  {info.name}  {human_size(info.file_size)}  {info.mime_type or '?'}  expires {expires}"


def cmd_upload(args, out: Output) -> int:
    from ..core.client import check_base64_image, check_upload_file

    # Checked before anything is sent (the same-name check below reads the listing first).
    if args.path:
        check_upload_file(Path(args.path).expanduser())
    elif args.url and not is_url(args.url):
        raise ValidationError("file_url", args.url, "an http:// or https:// URL")
    elif args.base64 is not None:
        check_base64_image(args.base64)
    settings = settings_for(args, out)

    async def run() -> int:
        async with make_client(settings) as client:
            client.events.subscribe(retry_listener(out))
            if not args.overwrite and not await _may_store(client, args, out):
                return EXIT_BAD_INPUT
            if args.path:
                info = await client.upload_file(
                    args.path,
                    name=args.name,
                    upload_path=args.upload_path,
                    progress=lambda done, total: out.progress(f"uploading {human_size(done)} of {human_size(total)}"),
                )
            elif args.url:
                info = await client.upload_url(args.url, name=args.name, upload_path=args.upload_path)
            else:
                info = await client.upload_base64(args.base64, name=args.name, upload_path=args.upload_path)
            out.say(f"uploaded {_file_line(info)}")
            out.say(f"file_url: {info.file_url}")
            out.emit({**info.raw, "demo": settings.demo})
            return EXIT_OK

    return asyncio.run(run())


async def _may_store(client, args, out: Output) -> bool:
    """Whether the upload may go ahead: its name is not stored yet in its folder, or the
    person at the terminal says to overwrite it (the app's question). Without a terminal
    a stored name is bad input unless --overwrite says so (nothing is sent)."""
    from ..core.files import OVERWRITE_TITLE, list_all, overwrite_question, same_name, stored_name

    name = stored_name(args.path or args.url or "", args.name) if (args.path or args.url or args.name) else ""
    if not name:
        return True  # the server names it: nothing can be overwritten
    existing = same_name((await list_all(client))[0], name, args.upload_path)
    if existing is None:
        return True
    if not sys.stdin.isatty():
        raise ValidationError(
            "name",
            name,
            f"a name not already stored in this folder ({existing.name} is already stored as {existing.file_id}), "
            "or --overwrite to replace that file",
        )
    out.note(overwrite_question(existing))
    sys.stderr.write(f"{OVERWRITE_TITLE} [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() in ("y", "yes"):
        return True
    out.note("Not uploaded: nothing was sent (--overwrite replaces it without asking).")
    return False


MAX_PAGE = 1_000_000  # 100 files a page: far beyond any quota


def cmd_files(args, out: Output) -> int:
    page = whole("page", args.page, f"a whole number from 1 to {MAX_PAGE:,}", low=1, high=MAX_PAGE)
    page_size = whole("page_size", args.page_size, "a whole number from 1 to 100", low=1, high=100)
    settings = settings_for(args, out)

    async def run() -> int:
        async with make_client(settings) as client:
            client.events.subscribe(retry_listener(out))
            listing, quota = await asyncio.gather(client.list_files(page, page_size), client.quota())
            if page > listing.pages:  # the listing had to be read to know; nothing else was sent
                files = f"{listing.total} file{'s' if listing.total != 1 else ''}"
                pages = f"{listing.pages} page{'s' if listing.pages != 1 else ''}"
                raise ValidationError(
                    "page",
                    page,
                    f"a page from 1 to {listing.pages}: there {'is' if listing.pages == 1 else 'are'} "
                    f"{pages} ({files}, {page_size} a page)",
                )
            out.say(
                f"quota: {quota.used_files} of {quota.max_files} files used, {quota.remain_files} left"
                + (f" ({quota.user_group})" if quota.user_group else "")
            )
            out.say(f"page {listing.page} of {listing.pages}, {listing.total} files in all")
            for info in listing.files:
                out.say(_file_line(info))
            out.emit(
                {
                    "quota": quota.raw,
                    "total": listing.total,
                    "page": listing.page,
                    "page_size": listing.page_size,
                    "files": [f.raw for f in listing.files],
                    "demo": settings.demo,
                }
            )
            return EXIT_OK

    return asyncio.run(run())


def cmd_delete(args, out: Output) -> int:
    settings = settings_for(args, out)

    async def run() -> int:
        async with make_client(settings) as client:
            client.events.subscribe(retry_listener(out))
            data = await client.delete_file(args.file_id)
            out.say(f"deleted {args.file_id}")
            out.emit({"deleted": args.file_id, "data": data, "demo": settings.demo})
            return EXIT_OK

    return asyncio.run(run())
