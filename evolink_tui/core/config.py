"""Configuration: the API key, base URLs, paths; the config file written with mode 0600.

Precedence: command-line flag, then environment variable, then the config file, then
the default. Paths follow platformdirs (config, data, pictures; see :mod:`.dirs`). ``EVOLINK_TUI_CONFIG``
and ``EVOLINK_TUI_DATA_DIR`` move the config file and the data dir (tests use them).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from urllib.parse import urlsplit

from .dirs import APP_NAME, data_folder, user_dir, user_pictures_dir
from .errors import ValidationError

DEFAULT_BASE_URL = "https://api.evolink.ai"
DEFAULT_FILES_BASE_URL = "https://files-api.evolink.ai"
# The in-process simulator answers on these names; .invalid never resolves, so nothing
# meant for the demo can ever reach a real host.
DEMO_BASE_URL = "https://api.evolink-demo.invalid"
DEMO_FILES_BASE_URL = "https://files-api.evolink-demo.invalid"
DEMO_API_KEY = "sk-demo-0000000000000000"


def config_path() -> Path:
    env = os.environ.get("EVOLINK_TUI_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(user_dir("config", APP_NAME)) / "config.toml"


def data_dir() -> Path:
    return Path(data_folder())


def default_download_dir(demo: bool = False) -> Path:
    """Pictures/evolink; demo results get their own Pictures/evolink-demo, apart from paid ones."""
    return Path(user_pictures_dir()) / ("evolink-demo" if demo else "evolink")


CACHE_ENV = "EVOLINK_TUI_CACHE_DIR"


def cache_dir() -> Path:
    """Where cached thumbnails live (created on first write). Here rather than in thumbcache
    so that ``locate`` can print it without loading the thumbnail code."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser() / "thumbnails"
    return Path(user_dir("cache", APP_NAME)) / "thumbnails"


def user_catalogue_path() -> Path:
    """The user's ``models.toml``: beside config.toml (``EVOLINK_TUI_MODELS`` moves it). Here, not
    in the catalogue, so that ``locate`` can print it without loading the catalogue code."""
    env = os.environ.get("EVOLINK_TUI_MODELS")
    if env:
        return Path(env).expanduser()
    return config_path().parent / "models.toml"


def mask_key(key: str | None) -> str:
    """A key as it may be shown: ``sk-…abcd``. Never more than the last four characters
    (and those only when they are plain ASCII: anything else shows as ``?``)."""
    if not key:
        return "(none)"
    prefix = key[:3] if key.startswith("sk-") else ""
    tail = key[-4:] if len(key) >= 12 else ""
    tail = "".join(ch if "!" <= ch <= "~" else "?" for ch in tail)
    return f"{prefix}…{tail}"


_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
KEY_ALLOWED = (
    "the key exactly as shown at evolink.ai/dashboard/keys: ASCII letters, digits and punctuation, "
    "with no spaces, line breaks, control or invisible characters"
)


def _char_name(ch: str) -> str:
    import unicodedata

    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}".rstrip()


def api_key_problem(key: str) -> str | None:
    """What makes ``key`` (already stripped) unusable in an ``Authorization`` header, or None.

    Only printable ASCII can travel in a header: a line break would let the HTTP library
    quote the whole header (the key) in its error, and anything non-ASCII fails to encode.
    The message says what and where, never the key itself.
    """
    if not key:
        return "it is empty"
    for position, ch in enumerate(key, 1):
        if "!" <= ch <= "~":
            continue
        import unicodedata  # deferred: only a key with a character outside printable ASCII needs it

        where = f"at character {position} of {len(key)}"
        category = unicodedata.category(ch)
        if ch in _LINE_BREAKS:
            what = "a line break"
        elif ch == "\t":
            what = "a tab"
        elif ch == " ":
            what = "a space"
        elif category == "Cc":
            what = f"a control character ({_char_name(ch)})"
        elif category == "Zs":
            what = f"a space ({_char_name(ch)})"
        elif category in ("Cf", "Co", "Cn", "Cs", "Mn", "Me") or ch in "\u115f\u1160\u3164\uffa0":
            what = f"an invisible character ({_char_name(ch)})"
        else:
            what = f"a non-ASCII character ({_char_name(ch)})"
        return f"it contains {what} {where}"
    return None


def check_api_key(key: str, field: str = "api_key") -> str:
    """``key`` without surrounding whitespace, or a ValidationError naming ``field``, showing
    the key masked and saying what is wrong with it (nothing is sent with such a key)."""
    key = key.strip()
    problem = api_key_problem(key)
    if problem:
        raise ValidationError(field, mask_key(key), KEY_ALLOWED, shown=f"{mask_key(key)} ({problem})")
    return key


def is_loopback_host(host: str | None) -> bool:
    """A literal loopback address (127.0.0.0/8, ::1) or ``localhost`` itself. A name under
    ``.localhost`` is not: a resolver may send it anywhere, and the key with it."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    import ipaddress  # deferred, as are tomllib and tempfile: headless commands start quicker

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(name: str, url: str) -> str:
    """A base URL, stripped of a trailing slash; plain http:// only for loopback."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError(name, url, "use an https:// URL such as https://api.evolink.ai")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValidationError(
            name, url, "plain http:// is allowed only for loopback (127.0.0.1, ::1, localhost); use https://"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError(name, url, "a base URL takes no query, fragment or credentials")
    return url


class Settings:
    """What a run uses: the key and hosts, the folders, the demo flag and the config file's
    own choices (mutable: :func:`load_settings` fills it in). A plain class, not a dataclass:
    every headless command that reads settings (locate, the paths of models and history)
    loads this module, and dataclasses would cost each several milliseconds to import."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        files_base_url: str = DEFAULT_FILES_BASE_URL,
        download_dir: Path | None = None,
        config_path: Path | None = None,
        data_dir: Path | None = None,
        demo: bool = False,
        theme: str | None = None,
        graphics: str | None = None,
        key_source: str = "none",
        keymap: dict[str, tuple[str, ...]] | None = None,
        warnings: list[str] | None = None,
        download_dir_given: Path | None = None,
    ):
        self.api_key = api_key
        self.base_url = base_url
        self.files_base_url = files_base_url
        self.download_dir = Path() if download_dir is None else download_dir
        self.config_path = Path() if config_path is None else config_path
        self.data_dir = Path() if data_dir is None else data_dir
        self.demo = demo
        self.theme = theme
        self.graphics = graphics  # as written in the config file; checked where it is used
        self.key_source = key_source  # "env", "config", "demo" or "none"
        self.keymap = {} if keymap is None else keymap  # [keymap]: binding id -> keys
        self.warnings = [] if warnings is None else warnings
        self.download_dir_given = download_dir_given  # --download-dir as given: kept when the app switches mode

    @property
    def masked_key(self) -> str:
        return mask_key(self.api_key)

    @property
    def has_key(self) -> bool:
        return bool(self.api_key)

    def describe(self) -> dict:
        """Safe to print or put in --json: the key only masked."""
        return {
            "config": str(self.config_path),
            "data": str(self.data_dir),
            "downloads": str(self.download_dir),
            "base_url": self.base_url,
            "files_base_url": self.files_base_url,
            "api_key": self.masked_key,
            "key_source": self.key_source,
            "demo": self.demo,
        }

    def __repr__(self) -> str:  # never let the key reach a log through repr()
        return (
            f"Settings(base_url={self.base_url!r}, files_base_url={self.files_base_url!r}, "
            f"api_key={self.masked_key!r}, demo={self.demo})"
        )


class ConfigFileError(Exception):
    pass


def read_config_file(path: Path) -> tuple[dict, str | None]:
    """The config file as a dict, and a warning naming the file and line if it is invalid."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, f"Could not read the config file {path}: {exc.strerror or exc}; using defaults."
    except UnicodeDecodeError:
        return {}, f"The config file {path} is not UTF-8 text; using defaults."
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        where = f" at line {match.group(1)}" if match else ""
        return {}, f"The config file {path} is not valid TOML{where} ({exc}); using defaults."
    return data, None


def config_line(path: Path, key: str) -> int | None:
    """The line of ``path`` where top-level ``key`` is set, for messages (None if not found)."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    pattern = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("["):
            return None  # a table: top-level keys come before the first one
        if pattern.match(line):
            return number
    return None


def _at_line(path: Path, key: str) -> str:
    line = config_line(path, key)
    return f" at line {line}" if line else ""


def config_field(path: Path, key: str) -> str:
    """How a message names ``key`` of the config file: ``graphics in the config file P at line N``."""
    return f"{key} in the config file {path}{_at_line(path, key)}"


def config_mode_problem(path: Path) -> str | None:
    """Why a config file (holding the key) is not private to its owner, or None."""
    if os.name != "posix":
        return None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if mode & 0o077:
        return f"other users can read or change it (mode {mode:04o})"
    return None


def fix_config_mode(path: Path | None = None) -> Path:
    """Make the config file readable and writable by its owner only (0600)."""
    path = path or config_path()
    os.chmod(path, 0o600)
    return path


def load_settings(
    *,
    demo: bool = False,
    download_dir: str | os.PathLike | None = None,
    environ: dict | None = None,
    strict_key: bool = True,
) -> Settings:
    """Settings for this run. Raises ValidationError for a refused base URL, and for a key
    that cannot be sent (a line break, a control, invisible or non-ASCII character); with
    ``strict_key=False`` such a key is left unused with a warning instead (``locate``)."""
    env = os.environ if environ is None else environ
    cfg_path = config_path()
    cfg, warning = read_config_file(cfg_path)
    warnings = [warning] if warning else []

    def pick(key: str) -> str | None:
        value = cfg.get(key)
        if value is not None and not isinstance(value, str):
            warnings.append(f"The config file {cfg_path}{_at_line(cfg_path, key)}: {key} must be a string; ignored.")
            return None
        return value

    if cfg.get("api_key") and (problem := config_mode_problem(cfg_path)):
        warnings.append(
            f"The config file {cfg_path} holds your API key and {problem}: run `chmod 600 {cfg_path}` "
            "(or `evolink-tui locate --fix-permissions`)."
        )
    settings = Settings(config_path=cfg_path, data_dir=data_dir(), demo=demo, warnings=warnings)
    settings.theme = pick("theme")
    settings.graphics = pick("graphics")
    if "keymap" in cfg:  # read only when there is one: most runs never load the keymap code
        from .keymap import read_keymap

        settings.keymap, found = read_keymap(cfg["keymap"], f"[keymap] in the config file {cfg_path}")
        warnings.extend(found)
    if demo:
        settings.api_key = DEMO_API_KEY
        settings.key_source = "demo"
        settings.base_url = DEMO_BASE_URL
        settings.files_base_url = DEMO_FILES_BASE_URL
    else:
        env_key = (env.get("EVOLINK_API_KEY") or "").strip()
        file_key = (pick("api_key") or "").strip()
        if env_key:
            key, source, field_name = env_key, "env", "EVOLINK_API_KEY"
        else:
            key, source = file_key, "config"
            field_name = config_field(cfg_path, "api_key")
        if key:
            try:
                settings.api_key, settings.key_source = check_api_key(key, field_name), source
            except ValidationError as err:
                if strict_key:
                    raise
                warnings.append(f"{err} The key is not used.")

        def base(env_name: str, key: str, default: str) -> str:
            if env.get(env_name):
                return check_base_url(env_name, env[env_name])
            configured = pick(key)
            if not configured:
                return default
            return check_base_url(f"{key} in the config file {cfg_path}{_at_line(cfg_path, key)}", configured)

        settings.base_url = base("EVOLINK_BASE_URL", "base_url", DEFAULT_BASE_URL)
        settings.files_base_url = base("EVOLINK_FILES_BASE_URL", "files_base_url", DEFAULT_FILES_BASE_URL)
    # The config file's folder is for real results: a demo run uses its own unless told otherwise.
    chosen = download_dir or env.get("EVOLINK_DOWNLOAD_DIR") or (None if demo else pick("download_dir"))
    settings.download_dir = Path(chosen).expanduser() if chosen else default_download_dir(demo)
    settings.download_dir_given = Path(download_dir).expanduser() if download_dir else None
    return settings


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(ch if ch >= " " and ch != "\x7f" else f"\\u{ord(ch):04x}" for ch in escaped)
    return f'"{escaped}"'


def _toml_table(table: dict, name: str, lines: list[str]) -> None:
    """``table`` as TOML lines: its values first, then its tables ([keymap]...), so saving a
    theme or a key keeps everything else the user wrote."""
    scalar = (str, int, float, bool)
    for key, value in table.items():
        if isinstance(value, scalar):
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
        elif isinstance(value, list) and all(isinstance(v, scalar) for v in value):
            lines.append(f"{_toml_key(key)} = [{', '.join(_toml_value(v) for v in value)}]")
    for key, value in table.items():
        if isinstance(value, dict):
            header = f"{name}.{_toml_key(key)}" if name else _toml_key(key)
            lines.extend(["", f"[{header}]"])
            _toml_table(value, header, lines)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def update_config_file(changes: dict, path: Path | None = None) -> Path:
    """Set top-level keys in the config file, keeping the others; written 0600, atomically."""
    path = path or config_path()
    current, warning = read_config_file(path)
    if warning and path.exists():
        raise ConfigFileError(warning.replace("; using defaults.", "; fix or remove it first."))
    current.update({k: v for k, v in changes.items() if v is not None})
    for key in [k for k, v in changes.items() if v is None]:
        current.pop(key, None)
    lines = ["# evolink-tui configuration (this file holds your API key: keep it private)"]
    _toml_table(current, "", lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.chmod(path, 0o600)
    return path


def save_api_key(key: str, path: Path | None = None) -> Path:
    return update_config_file({"api_key": check_api_key(key)}, path)
