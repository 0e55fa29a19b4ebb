"""The PEP 517 build backend: maturin's, with one default changed.

Cargo writes its build into ``target/`` next to the crate unless ``CARGO_TARGET_DIR`` says
otherwise, and pip (>= 21.3) builds ``pip install ./python`` in the source tree, so a plain
install would leave ``bindings/python/target`` in the clone. Here the default is the
repository's one build cache, ``~/.cache/dtls-target`` (README, "Build cache"), shared with
the tests, the demo and the Node package; a ``CARGO_TARGET_DIR`` set by the caller wins.
"""

from __future__ import annotations

import os

os.environ.setdefault(
    "CARGO_TARGET_DIR", os.path.join(os.path.expanduser("~"), ".cache", "dtls-target")
)

from maturin import (  # noqa: E402  (the environment must be set before maturin runs)
    build_editable,
    build_sdist,
    build_wheel,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_wheel,
)

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_wheel",
]
