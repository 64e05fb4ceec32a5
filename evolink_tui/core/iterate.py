"""Iterate on a result: a new request with that image as its reference.

The reference is the result's URL while it still works (a margin before the 24-hour
expiry the history records), else its local file, which the runner uploads through the
Files API as it does for any local reference. The prompt, size and n come from the task;
the model too if it takes reference images, else the first editing model of the
catalogue, with every editing model listed for the user to choose from. Submitting with
``Runner.prepare(iteration.request, parent=iteration.parent)`` records the parent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from .catalogue import Catalogue, Model, load_catalogue
from .errors import ValidationError
from .gallery import result_file
from .history import TaskRecord
from .validation import GenerationRequest

EDITING = "image-editing"  # the catalogue capability of models that take reference images
URL_MARGIN = 10 * 60  # seconds: a URL this close to its expiry may lapse before Evolink fetches it


def takes_references(model: Model) -> bool:
    return EDITING in model.capabilities and model.max_images > 0


def editing_models(catalogue: Catalogue | None = None) -> tuple[str, ...]:
    """Every model that takes reference images, in catalogue order."""
    return tuple(m.id for m in (catalogue or load_catalogue()) if takes_references(m))


@dataclass(frozen=True)
class Iteration:
    """A request to iterate on result ``parent[1]`` of record ``parent[0]``."""

    request: GenerationRequest
    parent: tuple[int, int]  # (record id, result index from 0)
    reference: str  # the result URL, or its local file (uploaded on submit)
    model_kept: bool  # the task's own model takes references; if not, ask which to use
    editing_models: tuple[str, ...]  # the models to offer

    @property
    def reference_is_url(self) -> bool:
        return self.reference.startswith(("http://", "https://"))

    def applies_to(self, request: GenerationRequest) -> bool:
        """Whether a request (as edited since) still iterates on the parent: its reference
        is still among the images. If not, submit it without a parent."""
        return self.reference in request.images

    def with_model(self, model_id: str, catalogue: Catalogue | None = None) -> Iteration:
        """The same iteration on another model, size and n kept where it allows them."""
        catalogue = catalogue or load_catalogue()
        model = catalogue.get(model_id)
        if model is None or not takes_references(model):
            raise ValidationError(
                "model", model_id, f"a model that takes reference images: {', '.join(self.editing_models)}"
            )
        return replace(
            self, request=_fit(self.request, model), model_kept=self.model_kept and model_id == self.request.model
        )


def _fit(request: GenerationRequest, model: Model) -> GenerationRequest:
    """``request`` on ``model``: a size it does not take is dropped, n brought into range,
    only the extra parameters it declares kept."""
    size = request.size if request.size in model.all_sizes else None
    n = request.n if request.n is None else max(model.n_min, min(model.n_max, request.n))
    return replace(request.for_model(model), size=size, n=n)


def reference_for(record: TaskRecord, index: int, now: float) -> str:
    """The result URL while it works (with :data:`URL_MARGIN` to spare), else the local
    file; ValidationError naming the result when neither is there."""
    label = f"#{record.id} result {index + 1}"
    if record.state != "completed" or not 0 <= index < max(len(record.results), len(record.files)):
        count = len(record.results)
        allowed = f"a result of a completed task (#{record.id} has {count})" if count else "a completed task's result"
        raise ValidationError("result", label, allowed)
    if index < len(record.results) and record.urls_valid(now + URL_MARGIN):
        return record.results[index]
    path = result_file(record, index)
    if path is not None and not record.is_deleted(index) and path.is_file():
        return str(path)
    raise ValidationError(
        "result",
        label,
        "a result still at its URL (they last 24 hours) or on disk; this one's URL has lapsed and its file is "
        + ("deleted" if record.is_deleted(index) else "not on disk"),
    )


def iterate(
    record: TaskRecord, index: int, *, now: float | None = None, catalogue: Catalogue | None = None
) -> Iteration:
    """The request that iterates on result ``index`` (from 0) of ``record``.

    Raises ValidationError when the result can be used neither by URL nor from disk.
    """
    catalogue = catalogue or load_catalogue()
    reference = reference_for(record, index, time.time() if now is None else now)
    base = record.generation_request()
    request = replace(base, prompt=base.prompt or record.prompt, images=(), mask=None)
    editing = editing_models(catalogue)
    model = catalogue.get(base.resolved_model(catalogue))
    kept = model is not None and takes_references(model)
    chosen = model if kept else catalogue.get(editing[0]) if editing else None
    if chosen is None:
        raise ValidationError("model", base.model, "a model that takes reference images (the catalogue has none)")
    request = replace(_fit(request, chosen), images=(reference,))
    return Iteration(request, (record.id, index), reference, kept, editing)
