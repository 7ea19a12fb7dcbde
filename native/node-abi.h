/*
 * The few Node-API and libuv entry points the addon (cni-spawn-addon.c) uses, declared here so that
 * it builds with nothing but a C compiler: Node's headers are not on every machine (Debian's nodejs
 * package leaves them to libnode-dev). Both ABIs are stable: Node-API by design (version 8 is all we
 * need), libuv within its major version 1, which every Node since 0.12 embeds. Node exports these
 * symbols; the addon resolves them when Node loads it.
 *
 * Where Node's own headers exist, scripts/build-native.mjs first compiles the addon with them
 * included ahead of this file (-DLIBCNI_WITH_NODE_HEADERS): the compiler then checks every
 * declaration below against the real one, and the type definitions here step aside.
 */
#ifndef LIBCNI_NODE_ABI_H
#define LIBCNI_NODE_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef LIBCNI_WITH_NODE_HEADERS
#include <node_api.h>
#include <uv.h>
#else
/* Node-API: opaque handles, status codes, callback shapes. */
typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_ref__ *napi_ref;
typedef struct napi_handle_scope__ *napi_handle_scope;
typedef struct napi_callback_info__ *napi_callback_info;
typedef struct napi_async_context__ *napi_async_context;
typedef struct napi_async_cleanup_hook_handle__ *napi_async_cleanup_hook_handle;
typedef enum { napi_ok = 0, napi_pending_exception = 10 } napi_status;
typedef enum { napi_uint8_array = 1 } napi_typedarray_type;
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);
typedef void (*napi_finalize)(napi_env env, void *data, void *hint);
typedef void (*napi_async_cleanup_hook)(napi_async_cleanup_hook_handle handle, void *data);

/* libuv: opaque loop and handles (sized at run time by uv_handle_size), poll events. */
typedef struct uv_loop_s uv_loop_t;
typedef struct uv_handle_s uv_handle_t;
typedef struct uv_poll_s uv_poll_t;
typedef struct uv_timer_s uv_timer_t;
typedef unsigned int uv_handle_type;
typedef void (*uv_poll_cb)(uv_poll_t *handle, int status, int events);
typedef void (*uv_timer_cb)(uv_timer_t *handle);
typedef void (*uv_close_cb)(uv_handle_t *handle);
enum uv_poll_event { UV_READABLE = 1, UV_WRITABLE = 2 };
#endif

napi_status napi_get_cb_info(napi_env env, napi_callback_info cbinfo, size_t *argc, napi_value *argv,
                             napi_value *this_arg, void **data);
napi_status napi_get_value_string_utf8(napi_env env, napi_value value, char *buf, size_t bufsize,
                                       size_t *result);
napi_status napi_get_boolean(napi_env env, bool value, napi_value *result);
napi_status napi_get_typedarray_info(napi_env env, napi_value typedarray, napi_typedarray_type *type,
                                     size_t *length, void **data, napi_value *arraybuffer,
                                     size_t *byte_offset);
napi_status napi_get_value_uint32(napi_env env, napi_value value, uint32_t *result);
napi_status napi_create_int32(napi_env env, int32_t value, napi_value *result);
napi_status napi_create_reference(napi_env env, napi_value value, uint32_t initial_refcount,
                                  napi_ref *result);
napi_status napi_delete_reference(napi_env env, napi_ref ref);
napi_status napi_get_reference_value(napi_env env, napi_ref ref, napi_value *result);
napi_status napi_create_buffer_copy(napi_env env, size_t length, const void *data, void **result_data,
                                    napi_value *result);
napi_status napi_open_handle_scope(napi_env env, napi_handle_scope *result);
napi_status napi_close_handle_scope(napi_env env, napi_handle_scope scope);
napi_status napi_make_callback(napi_env env, napi_async_context async_context, napi_value recv,
                               napi_value func, size_t argc, const napi_value *argv, napi_value *result);
napi_status napi_async_init(napi_env env, napi_value async_resource, napi_value async_resource_name,
                            napi_async_context *result);
napi_status napi_async_destroy(napi_env env, napi_async_context async_context);
napi_status napi_create_string_utf8(napi_env env, const char *str, size_t length, napi_value *result);
napi_status napi_get_undefined(napi_env env, napi_value *result);
napi_status napi_get_global(napi_env env, napi_value *result);
napi_status napi_create_function(napi_env env, const char *utf8name, size_t length, napi_callback cb,
                                 void *data, napi_value *result);
napi_status napi_set_named_property(napi_env env, napi_value object, const char *utf8name,
                                    napi_value value);
napi_status napi_get_uv_event_loop(napi_env env, struct uv_loop_s **loop);
napi_status napi_set_instance_data(napi_env env, void *data, napi_finalize finalize_cb, void *finalize_hint);
napi_status napi_add_async_cleanup_hook(napi_env env, napi_async_cleanup_hook hook, void *arg,
                                        napi_async_cleanup_hook_handle *remove_handle);
napi_status napi_remove_async_cleanup_hook(napi_async_cleanup_hook_handle remove_handle);
napi_status napi_get_and_clear_last_exception(napi_env env, napi_value *result);
napi_status napi_fatal_exception(napi_env env, napi_value err);
napi_status napi_throw_error(napi_env env, const char *code, const char *msg);

int uv_poll_init(uv_loop_t *loop, uv_poll_t *handle, int fd);
int uv_poll_start(uv_poll_t *handle, int events, uv_poll_cb cb);
int uv_timer_init(uv_loop_t *loop, uv_timer_t *handle);
int uv_timer_start(uv_timer_t *handle, uv_timer_cb cb, uint64_t timeout, uint64_t repeat);
void uv_close(uv_handle_t *handle, uv_close_cb close_cb);
void uv_ref(uv_handle_t *handle);
void uv_unref(uv_handle_t *handle);
size_t uv_handle_size(uv_handle_type type);
const char *uv_handle_type_name(uv_handle_type type);
void *uv_handle_get_data(const uv_handle_t *handle);
void uv_handle_set_data(uv_handle_t *handle, void *data);

#endif
