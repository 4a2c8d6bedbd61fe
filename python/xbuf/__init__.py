"""xbuf: the extended buffer protocol (PEP 3118) for Python.

``xbuf.View(obj)`` is a view of any buffer exporter's memory with memoryview's API plus
N-dimensional slicing and indexing, item values for every PEP 3118 format, equality and
copies for every format; a View is itself a buffer exporter, so ``memoryview(v)``,
``bytes(v)`` and ``np.asarray(v)`` share its memory with format, shape and strides intact.

    >>> import xbuf, numpy as np
    >>> v = xbuf.View(np.arange(12.).reshape(3, 4))
    >>> np.asarray(v[1:, ::2]).tolist()
    [[4.0, 6.0], [8.0, 10.0]]
"""

from ._xbuf import View, bytearray, copy, from_arrow, from_dlpack, open

__all__ = ["View", "bytearray", "copy", "from_arrow", "from_dlpack", "open"]
__version__ = "0.1.0"
