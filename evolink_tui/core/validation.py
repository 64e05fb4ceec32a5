"""Validation before anything is sent: one clear message per problem, naming the field,
the bad value and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from .catalogue import Catalogue, Model, load_catalogue
from .errors import ValidationError
from .imagetypes import KIND_NAMES, REFERENCE_KINDS, is_url, sniff_file
from .params import CORE_FIELDS, Value

MAX_PROMPT = 2000
SIZE_AUTO = "auto"  # no size sent: the model's own
MAX_REFERENCE_BYTES = 4 * 1024 * 1024
MAX_UPLOAD_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class GenerationRequest:
    """What the user asked for. ``images`` and ``mask`` may hold local paths or URLs."""

    prompt: str
    model: str = ""
    size: str | None = None
    n: int | None = None
    images: tuple[str, ...] = ()
    mask: str | None = None
    # Extra parameters the model declares (quality, seed...), as (name, value) pairs: sent as
    # top-level JSON fields beside prompt and model, so the recorded body holds them too.
    params: tuple[tuple[str, Value], ...] = ()

    def __post_init__(self) -> None:
        # "auto" (the app's word, and the sidecar's for a size left out) is the model's own
        # size: nothing is sent.
        if isinstance(self.size, str) and self.size.strip().lower() == SIZE_AUTO:
            object.__setattr__(self, "size", None)

    def resolved_model(self, catalogue: Catalogue | None = None) -> str:
        return self.model or (catalogue or load_catalogue()).default.id

    def local_files(self) -> list[str]:
        refs = [*self.images, *([self.mask] if self.mask else [])]
        return [ref for ref in refs if not is_url(ref)]

    def with_urls(self, mapping: dict[str, str]) -> GenerationRequest:
        """The same request with local paths replaced by their uploaded URLs."""
        return replace(
            self,
            images=tuple(mapping.get(ref, ref) for ref in self.images),
            mask=mapping.get(self.mask, self.mask) if self.mask else None,
        )

    def for_model(self, model: Model) -> GenerationRequest:
        """This request for ``model``, keeping only the extra parameters it declares (one prompt
        sent to several models: each gets the parameters it takes)."""
        return replace(self, model=model.id, params=tuple((k, v) for k, v in self.params if model.param(k)))

    def to_body(self, catalogue: Catalogue | None = None) -> dict:
        """The JSON body: prompt, model and only the optional fields the user set (extra
        parameters are sent as given: :func:`problems` refuses those the model does not declare)."""
        body: dict = {"prompt": self.prompt, "model": self.resolved_model(catalogue)}
        if self.size:
            body["size"] = self.size
        if self.n is not None:
            body["n"] = self.n
        if self.images:
            body["image_urls"] = list(self.images)
        if self.mask:
            body["mask_url"] = self.mask
        for name, value in self.params:
            body.setdefault(name, value)  # never over a core field
        return body

    def to_json(self) -> dict:
        return {
            "prompt": self.prompt,
            "model": self.model or None,
            "size": self.size,
            "n": self.n,
            "images": list(self.images),
            "mask": self.mask,
            "params": dict(self.params),
        }

    @classmethod
    def from_json(cls, data: dict) -> GenerationRequest:
        return cls(
            prompt=data.get("prompt", ""),
            model=data.get("model") or "",
            size=data.get("size"),
            n=data.get("n"),
            images=tuple(data.get("images") or ()),
            mask=data.get("mask"),
            params=_pairs(data.get("params")),
        )

    @classmethod
    def from_body(cls, body: dict) -> GenerationRequest:
        """A submitted JSON body (see :meth:`to_body`) back into a request."""
        return cls(
            prompt=body.get("prompt", ""),
            model=body.get("model") or "",
            size=body.get("size"),
            n=body.get("n"),
            images=tuple(body.get("image_urls") or ()),
            mask=body.get("mask_url"),
            params=extra_params(body),
        )


def extra_params(body: dict) -> tuple[tuple[str, Value], ...]:
    """The extra parameters in a JSON body: every field beyond the core ones."""
    return tuple((k, v) for k, v in body.items() if k not in CORE_FIELDS)


def _pairs(data) -> tuple[tuple[str, Value], ...]:
    return tuple((str(k), v) for k, v in data.items()) if isinstance(data, dict) else ()


def _list(values) -> str:
    return ", ".join(values)


def check_prompt(prompt: str) -> ValidationError | None:
    if not prompt or not prompt.strip():
        return ValidationError("prompt", prompt or "", "a prompt is required (1 to 2000 characters)")
    if len(prompt) > MAX_PROMPT:
        return ValidationError("prompt", prompt, f"at most {MAX_PROMPT} characters", shown=f"{len(prompt)} characters")
    return None


def check_model(model_id: str, catalogue: Catalogue) -> tuple[Model | None, ValidationError | None]:
    model = catalogue.get(model_id)
    if model is None:
        return None, ValidationError(
            "model", model_id, f"one of the {len(catalogue)} models listed by `evolink-tui models`"
        )
    return model, None


def check_size(size: str, model: Model) -> ValidationError | None:
    if size in model.all_sizes:
        return None
    if "x" in size.lower() and not model.pixel_sizes:
        return ValidationError(
            "size", size, f"pixel sizes are only for gpt-4o-image; {model.id} takes the ratios {_list(model.sizes)}"
        )
    allowed = f"the ratios {_list(model.sizes)}"
    if model.pixel_sizes:
        allowed += f" or the pixel sizes {_list(model.pixel_sizes)}"
    return ValidationError("size", size, f"{model.id} takes {allowed}")


def check_n(n, model: Model) -> ValidationError | None:
    if isinstance(n, bool) or not isinstance(n, int) or not model.n_min <= n <= model.n_max:
        return ValidationError("n", n, f"a whole number from {model.n_min} to {model.n_max} for {model.id}")
    return None


def check_local_image(
    field_name: str, ref: str, kinds=REFERENCE_KINDS, max_bytes: int = MAX_REFERENCE_BYTES
) -> ValidationError | None:
    """A local reference or mask file: exists, is one of ``kinds`` by content, within size."""
    path = Path(ref).expanduser()
    names = "/".join(KIND_NAMES[k] for k in sorted(kinds, key=list(KIND_NAMES).index))
    if not path.is_file():
        what = "a directory" if path.is_dir() else "not found"
        return ValidationError(field_name, ref, f"a readable local {names} file or an http(s) URL ({what})")
    try:
        kind = sniff_file(path)
        size = path.stat().st_size
    except OSError as exc:
        return ValidationError(field_name, ref, f"a readable local {names} file ({exc.strerror or exc})")
    if kind not in kinds:
        return ValidationError(
            field_name, ref, f"a {names} image (this file is {KIND_NAMES[kind] if kind else 'not an image'})"
        )
    if size > max_bytes:
        return ValidationError(
            field_name, ref, f"at most {max_bytes / 1024 / 1024:g} MB (this file is {size / 1024 / 1024:.1f} MB)"
        )
    return None


def check_reference(field_name: str, ref: str) -> ValidationError | None:
    ref = ref.strip()
    if not ref:
        return ValidationError(field_name, ref, "a local file path or an http(s) URL")
    if is_url(ref):
        return None
    if "://" in ref:
        return ValidationError(field_name, ref, "an http(s) URL or a local file path")
    return check_local_image(field_name, ref)


def _such_as(models: list[Model], catalogue: Catalogue, limit: int = 4) -> str:
    """A few model ids, the default first when it is one of them."""
    ordered = sorted(models, key=lambda m: m.id != catalogue.default.id)
    return _list(m.id for m in ordered[:limit])


def check_capabilities(request: GenerationRequest, model: Model, catalogue: Catalogue) -> ValidationError | None:
    """What the model can do: an editing-only model needs a reference image, a
    text-to-image-only model takes none (refused rather than silently ignored)."""
    low, high = model.reference_range
    count = len(request.images)
    if count < low:
        drawing = [m for m in catalogue if m.reference_range[0] == 0]
        return ValidationError(
            "image_urls",
            list(request.images),
            f"at least {low} reference image: {model.id} edits an image and cannot draw from text alone "
            f"(add a reference, or pick a text-to-image model such as {_such_as(drawing, catalogue)})",
            shown="no reference image",
        )
    if high == 0 and count:
        taking = [m for m in catalogue if m.reference_range[0] == 0 and m.reference_range[1] > 0]
        return ValidationError(
            "image_urls",
            list(request.images),
            f"none: {model.id} draws from text only (text-to-image) and would ignore them; "
            f"models that take reference images include {_such_as(taking, catalogue)}",
            shown=f"{count} reference image{'s' if count != 1 else ''}",
        )
    return None


def problems(request: GenerationRequest, catalogue: Catalogue | None = None) -> list[ValidationError]:
    """Every problem with ``request``, in field order; an empty list means it may be sent."""
    catalogue = catalogue or load_catalogue()
    found: list[ValidationError] = []
    if err := check_prompt(request.prompt):
        found.append(err)
    model, err = check_model(request.resolved_model(catalogue), catalogue)
    if err:
        found.append(err)
        return found
    assert model is not None
    if request.size is not None and (err := check_size(request.size, model)):
        found.append(err)
    if request.n is not None and (err := check_n(request.n, model)):
        found.append(err)
    if err := check_capabilities(request, model, catalogue):
        found.append(err)
    if len(request.images) > model.max_images:
        found.append(
            ValidationError(
                "image_urls",
                list(request.images),
                f"at most {model.max_images} reference images for {model.id}",
                shown=f"{len(request.images)} images",
            )
        )
    for ref in dict.fromkeys(request.images):
        if err := check_reference("image_urls", ref):
            found.append(err)
    if request.mask:
        if not model.mask:
            masked = [m.id for m in catalogue if m.mask]
            found.append(
                ValidationError("mask_url", request.mask, f"masks are only for {_list(masked)}; {model.id} takes none")
            )
        elif is_url(request.mask):
            pass
        elif "://" in request.mask:
            found.append(ValidationError("mask_url", request.mask, "an http(s) URL or a local PNG file"))
        elif err := check_local_image("mask_url", request.mask, kinds={"png"}):
            found.append(err)
    found.extend(check_params(request.params, model, catalogue))
    return found


def undeclared(name: str, value: object, model: Model, catalogue: Catalogue) -> ValidationError:
    """A parameter ``model`` does not take: which models do, or what it takes instead."""
    takers = [m.id for m in catalogue if m.param(name)]
    allowed = f"{model.id} takes no {name}"
    if takers:
        allowed += f"; models that do: {_list(takers)}"
    elif model.params:
        allowed += f"; its parameters: {_list(p.name for p in model.params)}"
    else:
        allowed += " (declare it in your models.toml if Evolink added it)"
    return ValidationError(name, value, allowed)


def check_params(params, model: Model, catalogue: Catalogue) -> list[ValidationError]:
    """The extra parameters: each declared by ``model``, given once, with an allowed value."""
    found: list[ValidationError] = []
    seen: set[str] = set()
    for name, value in params:
        spec = model.param(name)
        if name in seen:
            found.append(ValidationError(name, value, "one value (it is given twice)"))
        elif name in CORE_FIELDS:
            found.append(ValidationError(name, value, "the option for it (such as --size), not an extra parameter"))
        elif spec is None:
            found.append(undeclared(name, value, model, catalogue))
        elif err := spec.check(value, model.id):
            found.append(err)
        seen.add(name)
    return found


def parse_param_args(texts: Iterable[str], model_id: str, catalogue: Catalogue | None = None):
    """``NAME=VALUE`` texts as typed (``generate --param``) into typed (name, value) pairs for
    ``model_id``; raises a ValidationError naming the parameter, the value and what is allowed."""
    catalogue = catalogue or load_catalogue()
    texts = list(texts)
    if not texts:
        return ()
    model, err = check_model(model_id or catalogue.default.id, catalogue)
    if err:
        raise err
    assert model is not None
    pairs = []
    for text in texts:
        name, eq, raw = text.partition("=")
        name = name.strip()
        if not eq or not name:
            raise ValidationError("--param", text, "NAME=VALUE, such as quality=high")
        spec = model.param(name)
        if spec is None:
            raise undeclared(name, raw, model, catalogue)
        pairs.append((name, spec.parse(raw, model.id)))
    return tuple(pairs)


def validate(request: GenerationRequest, catalogue: Catalogue | None = None) -> GenerationRequest:
    """``request`` unchanged if it may be sent; else raise the first problem."""
    found = problems(request, catalogue)
    if found:
        raise found[0]
    return request


def parse_n(text: str) -> int:
    """``n`` as typed by a user: a ValidationError naming the value if it is not a number."""
    try:
        return int(str(text).strip())
    except ValueError:
        raise ValidationError("n", text, "a whole number from 1 to 4") from None


def human_size(num: int | float | None) -> str:
    if num is None:
        return "?"
    num = float(num)
    for unit in ("B", "KB", "MB", "GB"):
        if num < 1024 or unit == "GB":
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1024
    return f"{num:.1f} GB"
