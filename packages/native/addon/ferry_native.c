/*
 * Ferry's native addon (N-API, so one build serves every supported Node major).
 *
 * lstatBatch(dir, names, out): lstat of each entry of a folder, for listings. Node's fs.lstatSync costs about
 * 4 us an entry here, 2.4 of them in the system call: the rest is building a path string, a Stats object and
 * the kernel walking the folder's absolute path again for every name. This opens the folder once and calls
 * fstatat(2) with each bare name, writing the numbers straight into a Float64Array.
 *
 *   dir    the folder (a string)
 *   names  its entries' names joined by '/' (a name never holds a slash)
 *   out    a Float64Array of at least 6 numbers per name, zero-filled: for each entry
 *          found (1, or 0 when it vanished or cannot be read), mode, size, mtimeMs, ino, dev
 *
 * Returns false, touching nothing, when the folder cannot be opened (the caller then falls back to fs), true
 * otherwise. Throws a TypeError on arguments of the wrong kind.
 *
 * receiveToFile(socketFd, fileFd, position, timeoutMs, done): an upload's bytes from a TCP data connection to its
 * file on a thread of its own (Linux only), with splice(2) through a pipe: the kernel moves the socket's pages to
 * the file with one copy, where reading into a buffer and writing it out costs two, and no JavaScript runs per
 * chunk. See receive_to_file below.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __linux__
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#endif

#define FIELDS 6

#ifdef __APPLE__
#define MTIME(st) ((st).st_mtimespec)
#else
#define MTIME(st) ((st).st_mtim)
#endif

/* A JS string as a NUL-terminated UTF-8 copy (free it), or NULL after throwing. */
static char *utf8_of(napi_env env, napi_value value, const char *what, size_t *length) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) return NULL;
  char *text = malloc(len + 1);
  if (text == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, value, text, len + 1, &len) != napi_ok) {
    free(text);
    return NULL;
  }
  if (length) *length = len;
  return text;
}

static napi_value boolean(napi_env env, bool value) {
  napi_value result;
  napi_get_boolean(env, value, &result);
  return result;
}

static napi_value lstat_batch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "lstatBatch(dir, names, out) takes three arguments");
    return NULL;
  }
  bool is_typedarray = false;
  napi_typedarray_type type;
  size_t count = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, argv[2], &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_typedarray_info(env, argv[2], &type, &count, &data, NULL, NULL) != napi_ok || type != napi_float64_array) {
    napi_throw_type_error(env, NULL, "out must be a Float64Array");
    return NULL;
  }
  char *dir = utf8_of(env, argv[0], "dir must be a string", NULL);
  if (dir == NULL) return NULL;
  size_t names_length = 0;
  char *names = utf8_of(env, argv[1], "names must be a string", &names_length);
  if (names == NULL) {
    free(dir);
    return NULL;
  }

  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(dir);
  if (fd < 0) {
    free(names);
    return boolean(env, false);
  }
  double *out = data;
  size_t slots = count / FIELDS;
  char *name = names;
  char *end = names + names_length;
  for (size_t i = 0; i < slots && name <= end; i++) {
    char *slash = memchr(name, '/', (size_t)(end - name));
    if (slash) *slash = '\0';
    struct stat st;
    /* An empty name would stat the folder itself: it is no entry. */
    if (*name != '\0' && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      double *o = out + i * FIELDS;
      o[0] = 1;
      o[1] = (double)st.st_mode;
      o[2] = (double)st.st_size;
      /* as Node's Stats computes mtimeMs */
      o[3] = (double)MTIME(st).tv_sec * 1e3 + (double)MTIME(st).tv_nsec / 1e6;
      o[4] = (double)st.st_ino;
      o[5] = (double)st.st_dev;
    }
    if (slash == NULL) break;
    name = slash + 1;
  }
  close(fd);
  free(names);
  return boolean(env, true);
}

#ifdef __linux__
/*
 * receiveToFile(socketFd, fileFd, position, timeoutMs, done) -> job
 *
 * Moves what arrives on `socketFd` (a connected TCP socket, non-blocking, that nothing else reads meanwhile) into
 * `fileFd` until the peer's end of file, on a thread of its own, then calls done(error, bytes) on the JavaScript
 * thread. `position` is where the first byte goes (pwrite-like; the file's own offset is left alone), or -1 for the
 * file's own offset (sequential writes, O_APPEND). The job stops with ETIMEDOUT when nothing arrives for
 * `timeoutMs`, with ECANCELED after job.cancel(), and with ECONNRESET when the peer reset the connection (also
 * when the reset came after its FIN: at the end the socket must still have a peer, as in peer-reset.ts). Neither
 * descriptor is closed here; the caller keeps both open until done was called.
 *
 * job.bytes() is how many bytes reached the file so far (read at any time, for progress).
 *
 * The bytes go socket -> pipe -> file with splice(2): no copy into user memory. Where the file cannot take splice
 * (O_APPEND, or a file system without splice support) the job reads into a buffer and writes that instead.
 * The error's `code` is the errno's name (ENOSPC, EIO, ECONNRESET ...) and `syscall` the call that failed.
 */

#define CHUNK (1024 * 1024)

typedef struct {
  int sock;
  int file;
  int64_t position; /* -1: the file's own offset */
  int timeout_ms;
  int cancel_fd;
  int pipe_fds[2];
  uint64_t bytes; /* read and written with __atomic: the JavaScript thread reads it for progress */
  int error;      /* errno of the failure, 0 when it ended at the peer's FIN */
  const char *syscall;
  bool done; /* done() was called: cancel() has no thread to tell any more (JavaScript thread only) */
  napi_threadsafe_function tsfn;
  napi_ref self; /* keeps the job's object alive while the thread runs */
} receive_job;

static void add_bytes(receive_job *job, uint64_t n) { __atomic_add_fetch(&job->bytes, n, __ATOMIC_RELAXED); }

static int fail(receive_job *job, int error, const char *syscall) {
  job->error = error;
  job->syscall = syscall;
  return -1;
}

/* Waits until the socket is readable: 0, or -1 with the job's error set (timeout, cancel, poll failure). */
static int wait_readable(receive_job *job) {
  for (;;) {
    struct pollfd fds[2] = {{.fd = job->sock, .events = POLLIN}, {.fd = job->cancel_fd, .events = POLLIN}};
    int n = poll(fds, 2, job->timeout_ms > 0 ? job->timeout_ms : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(job, errno, "poll");
    }
    if (n == 0) return fail(job, ETIMEDOUT, "poll");
    if (fds[1].revents) return fail(job, ECANCELED, "poll");
    return 0; /* readable, or an error/hang-up the next read reports */
  }
}

/* Writes all of buf[0..len) at the job's position: 0, or -1 with the error set. */
static int write_all(receive_job *job, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = job->position >= 0 ? pwrite(job->file, buf, len, job->position) : write(job->file, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(job, errno, "write");
    }
    if (n == 0) return fail(job, ENOSPC, "write");
    if (job->position >= 0) job->position += n;
    buf += n;
    len -= (size_t)n;
    add_bytes(job, (uint64_t)n);
  }
  return 0;
}

/* The buffered way, for what is still in the pipe (`in_pipe` bytes) and then the rest of the socket. */
static void copy_rest(receive_job *job, size_t in_pipe) {
  char *buf = malloc(CHUNK);
  if (buf == NULL) {
    fail(job, ENOMEM, "malloc");
    return;
  }
  while (in_pipe > 0) {
    ssize_t n = read(job->pipe_fds[0], buf, in_pipe < CHUNK ? in_pipe : CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fail(job, n < 0 ? errno : EIO, "read");
      goto out;
    }
    if (write_all(job, buf, (size_t)n) < 0) goto out;
    in_pipe -= (size_t)n;
  }
  for (;;) {
    ssize_t n = read(job->sock, buf, CHUNK);
    if (n > 0) {
      if (write_all(job, buf, (size_t)n) < 0) goto out;
    } else if (n == 0) {
      goto out;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (wait_readable(job) < 0) goto out;
    } else if (errno != EINTR) {
      fail(job, errno, "read");
      goto out;
    }
  }
out:
  free(buf);
}

static void receive(receive_job *job) {
  int append = (fcntl(job->file, F_GETFL) & O_APPEND) != 0;
  if (append || pipe2(job->pipe_fds, O_CLOEXEC) < 0) {
    job->pipe_fds[0] = job->pipe_fds[1] = -1;
    copy_rest(job, 0);
    return;
  }
  fcntl(job->pipe_fds[1], F_SETPIPE_SZ, CHUNK); /* best effort: a smaller pipe only means more calls */
  for (;;) {
    ssize_t in = splice(job->sock, NULL, job->pipe_fds[1], NULL, CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (in == 0) return;
    if (in < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        /* EAGAIN also when the pipe is full, which it is not: it is emptied after every splice */
        if (wait_readable(job) < 0) return;
        continue;
      }
      if (errno == EINVAL) return copy_rest(job, 0); /* this socket cannot be spliced */
      fail(job, errno, "read");
      return;
    }
    size_t left = (size_t)in;
    while (left > 0) {
      loff_t at = job->position;
      ssize_t out = splice(job->pipe_fds[0], NULL, job->file, job->position >= 0 ? &at : NULL, left, SPLICE_F_MOVE);
      if (out < 0 && errno == EINTR) continue;
      if (out < 0 && errno == EINVAL) return copy_rest(job, left); /* the file system takes no splice */
      if (out <= 0) {
        fail(job, out < 0 ? errno : ENOSPC, "write");
        return;
      }
      if (job->position >= 0) job->position += out;
      left -= (size_t)out;
      add_bytes(job, (uint64_t)out);
    }
  }
}

static void *receive_thread(void *arg) {
  receive_job *job = arg;
  pthread_setname_np(pthread_self(), "ferry-upload");
  receive(job);
  /* An end of file with no peer left: the connection was reset (after its FIN, or instead of it). */
  if (job->error == 0) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    if (getpeername(job->sock, (struct sockaddr *)&peer, &len) < 0) fail(job, ECONNRESET, "read");
  }
  if (job->pipe_fds[0] >= 0) close(job->pipe_fds[0]);
  if (job->pipe_fds[1] >= 0) close(job->pipe_fds[1]);
  napi_threadsafe_function tsfn = job->tsfn; /* the job may be gone once the call below has run */
  napi_call_threadsafe_function(tsfn, job, napi_tsfn_blocking);
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  return NULL;
}

static const char *errno_name(int error) {
  switch (error) {
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case EIO: return "EIO";
    case EFBIG: return "EFBIG";
    case EBADF: return "EBADF";
    case EROFS: return "EROFS";
    case ENOMEM: return "ENOMEM";
    case ECONNRESET: return "ECONNRESET";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECANCELED: return "ECANCELED";
    case ENOTCONN: return "ENOTCONN";
    case ECONNABORTED: return "ECONNABORTED";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    case ENOBUFS: return "ENOBUFS";
    case EPIPE: return "EPIPE";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    default: return "EIO";
  }
}

/* On the JavaScript thread once the thread is done: done(error | null, bytes). */
static void receive_done(napi_env env, napi_value done, void *context, void *data) {
  (void)context;
  receive_job *job = data;
  job->done = true;
  close(job->cancel_fd);
  job->cancel_fd = -1;
  if (env != NULL) {
    napi_value argv[2], undefined;
    napi_get_undefined(env, &undefined);
    napi_create_double(env, (double)__atomic_load_n(&job->bytes, __ATOMIC_RELAXED), &argv[1]);
    if (job->error == 0) {
      napi_get_null(env, &argv[0]);
    } else {
      napi_value code, message, syscall, errno_value;
      napi_create_string_utf8(env, errno_name(job->error), NAPI_AUTO_LENGTH, &code);
      napi_create_string_utf8(env, strerror(job->error), NAPI_AUTO_LENGTH, &message);
      napi_create_error(env, code, message, &argv[0]);
      napi_create_string_utf8(env, job->syscall, NAPI_AUTO_LENGTH, &syscall);
      napi_set_named_property(env, argv[0], "syscall", syscall);
      napi_create_int32(env, -job->error, &errno_value);
      napi_set_named_property(env, argv[0], "errno", errno_value);
    }
    napi_call_function(env, undefined, done, 2, argv, NULL);
  }
  if (env != NULL) napi_delete_reference(env, job->self);
}

static void receive_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static receive_job *job_of(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok || napi_unwrap(env, self, &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "not a receiveToFile job");
    return NULL;
  }
  return data;
}

static napi_value receive_cancel(napi_env env, napi_callback_info info) {
  receive_job *job = job_of(env, info);
  if (job == NULL) return NULL;
  if (!job->done) {
    uint64_t one = 1;
    if (write(job->cancel_fd, &one, sizeof one) < 0) { /* a full counter already says cancel */ }
  }
  return NULL;
}

static napi_value receive_bytes(napi_env env, napi_callback_info info) {
  receive_job *job = job_of(env, info);
  if (job == NULL) return NULL;
  napi_value result;
  napi_create_double(env, (double)__atomic_load_n(&job->bytes, __ATOMIC_RELAXED), &result);
  return result;
}

static bool number_arg(napi_env env, napi_value value, const char *what, double *out) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number || napi_get_value_double(env, value, out) != napi_ok) {
    napi_throw_type_error(env, NULL, what);
    return false;
  }
  return true;
}

static napi_value receive_to_file(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "receiveToFile(socketFd, fileFd, position, timeoutMs, done) takes five arguments");
    return NULL;
  }
  double sock, file, position, timeout;
  if (!number_arg(env, argv[0], "socketFd must be a number", &sock) || !number_arg(env, argv[1], "fileFd must be a number", &file) ||
      !number_arg(env, argv[2], "position must be a number", &position) ||
      !number_arg(env, argv[3], "timeoutMs must be a number", &timeout))
    return NULL;
  napi_valuetype type;
  if (napi_typeof(env, argv[4], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "done must be a function");
    return NULL;
  }
  if (sock < 0 || file < 0 || sock > INT32_MAX || file > INT32_MAX || timeout < 0 || timeout > INT32_MAX || position < -1) {
    napi_throw_range_error(env, NULL, "socketFd, fileFd, position or timeoutMs out of range");
    return NULL;
  }
  receive_job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  job->sock = (int)sock;
  job->file = (int)file;
  job->position = position < 0 ? -1 : (int64_t)position;
  job->timeout_ms = (int)timeout;
  job->pipe_fds[0] = job->pipe_fds[1] = -1;
  job->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (job->cancel_fd < 0) {
    free(job);
    napi_throw_error(env, NULL, "eventfd failed");
    return NULL;
  }
  napi_value self, name;
  napi_create_object(env, &self);
  const napi_property_descriptor methods[] = {
      {"cancel", NULL, receive_cancel, NULL, NULL, NULL, napi_default, NULL},
      {"bytes", NULL, receive_bytes, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, self, 2, methods) != napi_ok || napi_wrap(env, self, job, receive_finalize, NULL, NULL) != napi_ok) {
    close(job->cancel_fd);
    free(job);
    return NULL;
  }
  napi_create_string_utf8(env, "ferry receiveToFile", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[4], NULL, name, 0, 1, NULL, NULL, NULL, receive_done, &job->tsfn) != napi_ok) {
    close(job->cancel_fd);
    job->done = true;
    napi_throw_error(env, NULL, "cannot create the completion callback");
    return NULL;
  }
  napi_create_reference(env, self, 1, &job->self);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t thread;
  int started = pthread_create(&thread, &attr, receive_thread, job);
  pthread_attr_destroy(&attr);
  if (started != 0) {
    napi_release_threadsafe_function(job->tsfn, napi_tsfn_abort);
    napi_delete_reference(env, job->self);
    close(job->cancel_fd);
    job->done = true;
    napi_throw_error(env, NULL, "cannot start a thread");
    return NULL;
  }
  return self;
}
#endif

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "lstatBatch", NAPI_AUTO_LENGTH, lstat_batch, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "lstatBatch", fn) != napi_ok) return NULL;
#ifdef __linux__
  if (napi_create_function(env, "receiveToFile", NAPI_AUTO_LENGTH, receive_to_file, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "receiveToFile", fn) != napi_ok) return NULL;
#endif
  return exports;
}
