//! The boundary: each exported function fails with the value its documentation gives, and
//! its failure message names it.

use std::ffi::{c_char, c_int, CStr};

use super::*;

fn last_message() -> String {
    unsafe { CStr::from_ptr(xbuf_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn probe_status(fail: bool) -> c_int {
    boundary!({
        if fail {
            panic!("boom");
        }
        Ok(())
    })
}

fn probe_pointer(fail: bool) -> *const c_char {
    boundary!({
        if fail {
            panic!("pointer boom");
        }
        Ok(c"x".as_ptr())
    })
}

fn probe_count(n: isize) -> isize {
    boundary!({
        if n < 0 {
            crate::bail!(OutOfBounds, "n is {n}");
        }
        Ok(n)
    })
}

#[test]
fn a_panic_becomes_the_panic_status_named_after_the_function() {
    xbuf_clear_error();
    assert_eq!(probe_status(false), XBUF_OK);
    assert_eq!(xbuf_last_error_status(), XBUF_OK);
    assert_eq!(probe_status(true), XBUF_ERR_PANIC);
    assert_eq!(xbuf_last_error_status(), XBUF_ERR_PANIC);
    assert_eq!(
        last_message(),
        "probe_status: internal error (please report): boom"
    );
    assert!(!probe_pointer(false).is_null());
    assert!(probe_pointer(true).is_null());
    assert_eq!(
        last_message(),
        "probe_pointer: internal error (please report): pointer boom"
    );
}

#[test]
fn a_count_is_minus_one_on_failure() {
    assert_eq!(probe_count(5), 5);
    assert_eq!(probe_count(-2), -1);
    assert_eq!(xbuf_last_error_status(), XBUF_ERR_OUT_OF_BOUNDS);
    assert_eq!(last_message(), "probe_count: n is -2");
}

#[test]
fn exported_functions_fail_with_their_documented_values_and_names() {
    let null_obj = std::ptr::null_mut();
    unsafe {
        assert_eq!(xbuf_incref(null_obj), XBUF_ERR_NULL_ARGUMENT);
        assert_eq!(last_message(), "xbuf_incref: argument 'obj' is NULL");
        assert_eq!(xbuf_exports(null_obj), -1);
        assert!(last_message().starts_with("xbuf_exports: "));
        assert_eq!(xbuf_refcount(null_obj), -1);
        assert!(last_message().starts_with("xbuf_refcount: "));
        assert!(xbuf_object_state(null_obj).is_null());
        assert!(last_message().starts_with("xbuf_object_state: "));
        assert!(xbuf_object_type_name(null_obj).is_null());
        assert!(last_message().starts_with("xbuf_object_type_name: "));
        assert_eq!(xbuf_is_contiguous(std::ptr::null(), b'C' as c_char), 0);
        assert!(last_message().starts_with("xbuf_is_contiguous: "));
        assert_eq!(xbuf_format_byteorder(std::ptr::null()), 0);
        assert!(last_message().starts_with("xbuf_format_byteorder: "));
        assert_eq!(xbuf_format_itemsize(std::ptr::null()), -1);
        assert!(last_message().starts_with("xbuf_format_itemsize: "));
        assert_eq!(
            xbuf_format_equivalent(std::ptr::null(), std::ptr::null()),
            0
        );
        assert!(last_message().starts_with("xbuf_format_equivalent: "));
        // Two exported functions sharing one helper each name themselves.
        let mut out = std::ptr::null_mut();
        let (schema, array) = (std::ptr::null_mut(), std::ptr::null_mut());
        assert_eq!(
            xbuf_arrow_import(schema, array, &mut out),
            XBUF_ERR_NULL_ARGUMENT
        );
        assert!(last_message().starts_with("xbuf_arrow_import: "));
        assert_eq!(
            xbuf_arrow_import_flags(schema, array, 0, &mut out),
            XBUF_ERR_NULL_ARGUMENT
        );
        assert!(last_message().starts_with("xbuf_arrow_import_flags: "));
        assert_eq!(xbuf_set_max_threads(-1), XBUF_ERR_INVALID_ARGUMENT);
        assert!(last_message().starts_with("xbuf_set_max_threads: "));
    }
    assert!(xbuf_get_max_threads() >= 1);
}

#[test]
fn a_constructor_sets_out_to_null_on_failure_and_refuses_a_null_out() {
    let mut out: *mut xbuf_object = std::ptr::NonNull::dangling().as_ptr();
    unsafe {
        assert_eq!(
            xbuf_bytes_new(std::ptr::null(), 5, &mut out),
            XBUF_ERR_NULL_ARGUMENT
        );
        assert!(out.is_null());
        assert_eq!(
            xbuf_bytes_new(c"abc".as_ptr().cast(), 3, std::ptr::null_mut()),
            XBUF_ERR_NULL_ARGUMENT
        );
        assert_eq!(last_message(), "xbuf_bytes_new: argument 'out' is NULL");
        assert_eq!(xbuf_bytes_new(c"abc".as_ptr().cast(), 3, &mut out), XBUF_OK);
        assert_eq!(xbuf_refcount(out), 1);
        assert_eq!(xbuf_decref(out), XBUF_OK);
    }
}

#[test]
fn an_output_struct_s_structsize_is_checked_by_the_common_rule() {
    let mut fmt = std::ptr::null_mut();
    unsafe {
        assert_eq!(xbuf_format_parse(c"<i".as_ptr(), &mut fmt), XBUF_OK);
        let mut info: xbuf_format_field_info = std::mem::zeroed();
        info.structsize = 3;
        assert_eq!(
            xbuf_format_field(fmt, 0, &mut info),
            XBUF_ERR_STRUCT_TOO_OLD
        );
        let min = std::mem::size_of::<xbuf_format_field_info>();
        assert_eq!(
            last_message(),
            format!(
                "xbuf_format_field: xbuf_format_field_info.structsize is 3; the smallest \
                 published size is {min} (set it to sizeof(xbuf_format_field_info))"
            )
        );
        info.structsize = 1 << 20;
        assert_eq!(
            xbuf_format_field(fmt, 0, &mut info),
            XBUF_ERR_INVALID_ARGUMENT
        );
        info.structsize = min;
        assert_eq!(xbuf_format_field(fmt, 0, &mut info), XBUF_OK);
        xbuf_format_free(fmt);
    }
}
