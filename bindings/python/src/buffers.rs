//! Bytes in from any object with the buffer protocol, and out into caller buffers.
//!
//! The module targets the stable ABI of CPython 3.10, which has no `Py_buffer` access
//! (`PyObject_GetBuffer` joined the limited API in 3.11). So: `bytes` is borrowed as it is
//! (no copy); `bytearray` is read and written in place through `PyByteArray_AsString` (in the
//! limited API); every other buffer (`memoryview`, `array.array`, `mmap`, numpy arrays) goes
//! through `memoryview(obj)` and costs one copy each way.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView, PySlice, PyString};
use std::ops::Deref;

/// Read-only bytes from any bytes-like object: `bytes` borrowed, anything else copied once.
pub struct BytesLike(PyBackedBytes);

impl Deref for BytesLike {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for BytesLike {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(BytesLike(PyBackedBytes::from(b.to_owned())));
        }
        if let Ok(b) = obj.cast::<PyByteArray>() {
            return Ok(BytesLike(PyBackedBytes::from(b.to_owned())));
        }
        // memoryview(str) and memoryview(int) raise, as they should: neither is bytes.
        if obj.is_instance_of::<PyString>() {
            return Err(type_error(&obj));
        }
        let view = PyMemoryView::from(&obj).map_err(|_| type_error(&obj))?;
        let bytes = view.call_method0("tobytes")?.cast_into::<PyBytes>()?;
        Ok(BytesLike(PyBackedBytes::from(bytes)))
    }
}

fn type_error(obj: &Borrowed<'_, '_, PyAny>) -> PyErr {
    let name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    pyo3::exceptions::PyTypeError::new_err(format!(
        "expected a bytes-like object (bytes, bytearray, memoryview, ...), not {name}"
    ))
}

/// A writable byte view of `obj` (`memoryview(obj).cast("B")`), refusing read-only buffers.
fn writable_view<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let view = PyMemoryView::from(obj).map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(
            "expected a writable bytes-like object (bytearray, memoryview of one, ...)",
        )
    })?;
    if view.getattr("readonly")?.extract::<bool>()? {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "the buffer is read-only: pass a bytearray or a writable memoryview",
        ));
    }
    view.call_method1("cast", ("B",))
}

/// Runs `f` on the bytes of the writable buffer `obj` and returns its result: in place for a
/// `bytearray`; for any other writable buffer, on a copy that is written back afterwards.
///
/// `f` runs with the GIL held and calls no Python code, so a `bytearray` cannot be resized
/// under it.
pub fn with_writable<T>(obj: &Bound<'_, PyAny>, f: impl FnOnce(&mut [u8]) -> T) -> PyResult<T> {
    if let Ok(ba) = obj.cast::<PyByteArray>() {
        // SAFETY: the GIL is held for the whole borrow and `f` runs no Python code, so
        // nothing can resize or free the bytearray while the slice lives.
        let buf = unsafe { ba.as_bytes_mut() };
        return Ok(f(buf));
    }
    let view = writable_view(obj)?;
    let mut copy: Vec<u8> = view.call_method0("tobytes")?.extract()?;
    let out = f(&mut copy);
    view.set_item(PySlice::full(obj.py()), PyBytes::new(obj.py(), &copy))?;
    Ok(out)
}

/// `memoryview(obj)[start:end]` as bytes, a view into the caller's buffer (no copy).
pub fn view_slice<'py>(
    obj: &Bound<'py, PyAny>,
    start: usize,
    end: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let view = PyMemoryView::from(obj)?.call_method1("cast", ("B",))?;
    view.get_item(PySlice::new(obj.py(), start as isize, end as isize, 1))
}
