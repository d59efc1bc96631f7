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
 * readSmallFile (Linux 5.6+, where openat2(2) answers; so createUploadFile and finishUpload): a download's whole file, when it is small and its path holds no symbolic link, opened, read
 * and closed in one job on libuv's thread pool instead of four round trips there (realpath, open and stat, read,
 * close). See below.
 *
 * createUploadFile and finishUpload (Linux): a plain upload's hidden temporary file created, and at its end its last
 * bytes written, the file closed and renamed into place, in two jobs on libuv's thread pool instead of five round
 * trips there (the folder's realpath with the entry's lstat, open, write, close, rename). See below.
 *
 * returnLargeBlocks (glibc): blocks of 4 MiB and more mapped on their own and given back to the system when freed.
 * By default glibc raises that threshold to the size of the largest block freed so far, so after one password check
 * (argon2id's 19 MiB, on a libuv thread-pool thread) every later one comes from the thread's own arena, which keeps
 * the 19 MiB for good: up to one such block per thread-pool thread, resident while the server idles. See below.
 *
 * receiveToFile and sendFromFile (Linux): an upload's bytes from a TCP data connection to its file with splice(2),
 * and a download's from its file to the connection with sendfile(2), on a thread of their own: the kernel copies
 * each byte once, where reading into a buffer and writing it out copies it twice, and no JavaScript runs per
 * chunk. See below.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#ifdef __linux__
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <limits.h>
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
  if (strlen(text) != len) { /* a NUL inside would cut the name the kernel sees short of the one that was checked */
    free(text);
    napi_throw_type_error(env, NULL, "a string argument holds a NUL character");
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
 * Transfers between a TCP data connection and a file on a thread of their own, so that no JavaScript runs per
 * chunk and the kernel copies each byte once:
 *
 * receiveToFile(socketFd, fileFd, position, timeoutMs, done) -> job
 *   Moves what arrives on the socket into the file until the peer's end of file, socket -> pipe -> file with
 *   splice(2). `position` is where the first byte goes (the file's own offset is left alone), or -1 for the file's
 *   own offset (sequential writes, O_APPEND). Where the file cannot take splice (O_APPEND, or a file system without
 *   it) the job reads into a buffer and writes that instead. It ends with ECONNRESET when the peer reset the
 *   connection, also when the reset came after its FIN (at the end the socket must still have a peer, as in
 *   ftp-core's peer-reset.ts).
 *
 * sendFromFile(socketFd, fileFd, position, length, timeoutMs, done) -> job
 *   Sends `length` bytes of the file from `position` with sendfile(2); fewer when the file ends first (it shrank).
 *   The socket is not shut down: the caller ends it.
 *
 * Both run on a thread of their own and call done(error, bytes) on the JavaScript thread when they end. They
 * work on duplicates of the two descriptors, so the caller may close its own at any time (the connection stays
 * open until the job ends: cancel it first). The job ends with ETIMEDOUT when the socket is not ready for
 * `timeoutMs`, with ECANCELED after job.cancel(); the error's `code` is the errno's name (ENOSPC, EPIPE,
 * ECONNRESET ...) and `syscall` the call that failed. job.bytes() is how many bytes were moved so far.
 */

#define CHUNK (1024 * 1024)
/* Bytes one sendfile call is asked for: the socket takes what fits in its buffer anyway. */
#define SEND_CHUNK (4 * 1024 * 1024)

typedef enum { RECEIVE, SEND } transfer_kind;

typedef struct {
  transfer_kind kind;
  int sock; /* duplicates, closed by the thread */
  int file;
  int64_t position; /* -1: the file's own offset (receive only) */
  uint64_t length;  /* send only */
  int timeout_ms;
  int cancel_fd;
  int cancelled; /* __atomic: set by cancel(), read between calls */
  int pipe_fds[2];
  uint64_t bytes; /* __atomic: the JavaScript thread reads it for progress */
  int error;      /* errno of the failure, 0 when it ended well */
  const char *syscall;
  bool done; /* done() was called: cancel() has no thread to tell any more (JavaScript thread only) */
  napi_threadsafe_function tsfn;
  napi_ref self; /* keeps the job's object alive while the thread runs */
} transfer_job;

static void add_bytes(transfer_job *job, uint64_t n) { __atomic_add_fetch(&job->bytes, n, __ATOMIC_RELAXED); }

static int fail(transfer_job *job, int error, const char *syscall) {
  job->error = error;
  job->syscall = syscall;
  return -1;
}

/* 0 to go on, or -1 with the job's error set when it was cancelled. */
static int check_cancel(transfer_job *job) {
  return __atomic_load_n(&job->cancelled, __ATOMIC_RELAXED) ? fail(job, ECANCELED, "poll") : 0;
}

/* Waits until the socket is ready for `events`: 0, or -1 with the job's error set (timeout, cancel, poll failure). */
static int wait_ready(transfer_job *job, short events) {
  for (;;) {
    struct pollfd fds[2] = {{.fd = job->sock, .events = events}, {.fd = job->cancel_fd, .events = POLLIN}};
    int n = poll(fds, 2, job->timeout_ms > 0 ? job->timeout_ms : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(job, errno, "poll");
    }
    if (n == 0) return fail(job, ETIMEDOUT, "poll");
    if (fds[1].revents) return fail(job, ECANCELED, "poll");
    return 0; /* ready, or an error/hang-up the next call reports */
  }
}

/* Writes all of buf[0..len) at the job's position: 0, or -1 with the error set. */
static int write_all(transfer_job *job, const char *buf, size_t len) {
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
static void copy_rest(transfer_job *job, size_t in_pipe) {
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
    if (check_cancel(job) < 0) goto out;
    ssize_t n = read(job->sock, buf, CHUNK);
    if (n > 0) {
      if (write_all(job, buf, (size_t)n) < 0) goto out;
    } else if (n == 0) {
      goto out;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (wait_ready(job, POLLIN) < 0) goto out;
    } else if (errno != EINTR) {
      fail(job, errno, "read");
      goto out;
    }
  }
out:
  free(buf);
}

static void receive(transfer_job *job) {
  int append = (fcntl(job->file, F_GETFL) & O_APPEND) != 0;
  if (append || pipe2(job->pipe_fds, O_CLOEXEC) < 0) {
    job->pipe_fds[0] = job->pipe_fds[1] = -1;
    copy_rest(job, 0);
    return;
  }
  fcntl(job->pipe_fds[1], F_SETPIPE_SZ, CHUNK); /* best effort: a smaller pipe only means more calls */
  for (;;) {
    if (check_cancel(job) < 0) return;
    ssize_t in = splice(job->sock, NULL, job->pipe_fds[1], NULL, CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (in == 0) return;
    if (in < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        /* EAGAIN also when the pipe is full, which it is not: it is emptied after every splice */
        if (wait_ready(job, POLLIN) < 0) return;
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

/* The buffered way, from `at` on, where the file cannot feed sendfile(2) (a file system without splice support). */
static void send_rest(transfer_job *job, off_t at, uint64_t left) {
  char *buf = malloc(CHUNK);
  if (buf == NULL) {
    fail(job, ENOMEM, "malloc");
    return;
  }
  while (left > 0) {
    if (check_cancel(job) < 0) goto out;
    ssize_t n = pread(job->file, buf, left < CHUNK ? (size_t)left : CHUNK, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      fail(job, errno, "read");
      goto out;
    }
    if (n == 0) goto out; /* the file ended early: what is left of it was sent */
    for (size_t sent = 0; sent < (size_t)n;) {
      ssize_t w = write(job->sock, buf + sent, (size_t)n - sent);
      if (w > 0) {
        sent += (size_t)w;
        add_bytes(job, (uint64_t)w);
      } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (wait_ready(job, POLLOUT) < 0) goto out;
      } else if (w < 0 && errno != EINTR) {
        fail(job, errno, "write");
        goto out;
      }
    }
    at += n;
    left -= (uint64_t)n;
  }
out:
  free(buf);
}

static void send_file(transfer_job *job) {
  off_t at = (off_t)job->position;
  uint64_t left = job->length;
  while (left > 0) {
    if (check_cancel(job) < 0) return;
    ssize_t n = sendfile(job->sock, job->file, &at, left < SEND_CHUNK ? (size_t)left : SEND_CHUNK);
    if (n > 0) {
      left -= (uint64_t)n;
      add_bytes(job, (uint64_t)n);
    } else if (n == 0) {
      return; /* the file ended early: what is left of it was sent */
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (wait_ready(job, POLLOUT) < 0) return;
    } else if (errno == EINVAL || errno == ENOSYS) {
      send_rest(job, at, left); /* this file cannot be sent with sendfile(2) */
      return;
    } else if (errno != EINTR) {
      fail(job, errno, "sendfile");
      return;
    }
  }
}

static void *transfer_thread(void *arg) {
  transfer_job *job = arg;
  pthread_setname_np(pthread_self(), job->kind == RECEIVE ? "ferry-upload" : "ferry-download");
  if (job->kind == RECEIVE) {
    receive(job);
    /* An end of file with no peer left: the connection was reset (after its FIN, or instead of it). */
    if (job->error == 0) {
      struct sockaddr_storage peer;
      socklen_t len = sizeof peer;
      if (getpeername(job->sock, (struct sockaddr *)&peer, &len) < 0) fail(job, ECONNRESET, "read");
    }
  } else {
    send_file(job);
  }
  if (job->pipe_fds[0] >= 0) close(job->pipe_fds[0]);
  if (job->pipe_fds[1] >= 0) close(job->pipe_fds[1]);
  close(job->sock);
  close(job->file);
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
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case EBUSY: return "EBUSY";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ELOOP: return "ELOOP";
    case EMLINK: return "EMLINK";
    case ESTALE: return "ESTALE";
    case EOVERFLOW: return "EOVERFLOW";
    case ENXIO: return "ENXIO";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "EIO";
  }
}

/* On the JavaScript thread once the thread is done: done(error | null, bytes). */
static void transfer_done(napi_env env, napi_value done, void *context, void *data) {
  (void)context;
  transfer_job *job = data;
  job->done = true;
  close(job->cancel_fd);
  job->cancel_fd = -1;
  if (env == NULL) return;
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
  napi_delete_reference(env, job->self);
  napi_call_function(env, undefined, done, 2, argv, NULL);
}

static void transfer_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static transfer_job *job_of(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok || napi_unwrap(env, self, &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "not a transfer job");
    return NULL;
  }
  return data;
}

static napi_value transfer_cancel(napi_env env, napi_callback_info info) {
  transfer_job *job = job_of(env, info);
  if (job == NULL) return NULL;
  if (!job->done) {
    __atomic_store_n(&job->cancelled, 1, __ATOMIC_RELAXED);
    uint64_t one = 1;
    if (write(job->cancel_fd, &one, sizeof one) < 0) { /* a full counter already says cancel */ }
  }
  return NULL;
}

static napi_value transfer_bytes(napi_env env, napi_callback_info info) {
  transfer_job *job = job_of(env, info);
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
  /* NaN fails every comparison, so it would pass each range check after this and then be converted to an integer. */
  if (!isfinite(*out)) {
    napi_throw_range_error(env, NULL, what);
    return false;
  }
  return true;
}

/* Starts a job on the thread; the job's object, or NULL after throwing. */
static napi_value start_transfer(napi_env env, transfer_job *job, napi_value done) {
  napi_valuetype type;
  if (napi_typeof(env, done, &type) != napi_ok || type != napi_function) {
    free(job);
    napi_throw_type_error(env, NULL, "done must be a function");
    return NULL;
  }
  job->pipe_fds[0] = job->pipe_fds[1] = -1;
  int sock = fcntl(job->sock, F_DUPFD_CLOEXEC, 0);
  int file = sock < 0 ? -1 : fcntl(job->file, F_DUPFD_CLOEXEC, 0);
  job->cancel_fd = file < 0 ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (job->cancel_fd < 0) {
    int error = errno;
    char message[160];
    snprintf(message, sizeof message, "%s: %s", sock < 0 || file < 0 ? "cannot duplicate socketFd or fileFd" : "eventfd failed",
             strerror(error));
    if (sock >= 0) close(sock);
    if (file >= 0) close(file);
    free(job);
    napi_throw_error(env, errno_name(error), message);
    return NULL;
  }
  job->sock = sock;
  job->file = file;
  napi_value self, name;
  napi_create_object(env, &self);
  const napi_property_descriptor methods[] = {
      {"cancel", NULL, transfer_cancel, NULL, NULL, NULL, napi_default, NULL},
      {"bytes", NULL, transfer_bytes, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, self, 2, methods) != napi_ok || napi_wrap(env, self, job, transfer_finalize, NULL, NULL) != napi_ok) {
    close(job->cancel_fd);
    close(sock);
    close(file);
    free(job);
    return NULL;
  }
  /* from here on the job belongs to its object (freed when that is collected) */
  job->done = true; /* until the thread runs */
  napi_create_string_utf8(env, "ferry transfer", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, done, NULL, name, 0, 1, NULL, NULL, NULL, transfer_done, &job->tsfn) != napi_ok) {
    close(job->cancel_fd);
    close(sock);
    close(file);
    napi_throw_error(env, NULL, "cannot create the completion callback");
    return NULL;
  }
  napi_create_reference(env, self, 1, &job->self);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t thread;
  job->done = false;
  int started = pthread_create(&thread, &attr, transfer_thread, job);
  pthread_attr_destroy(&attr);
  if (started != 0) {
    job->done = true;
    napi_release_threadsafe_function(job->tsfn, napi_tsfn_abort);
    napi_delete_reference(env, job->self);
    close(job->cancel_fd);
    close(sock);
    close(file);
    napi_throw_error(env, NULL, "cannot start a thread");
    return NULL;
  }
  return self;
}

static transfer_job *new_job(napi_env env, transfer_kind kind, double sock, double file, double position, double timeout) {
  if (sock < 0 || file < 0 || sock > INT32_MAX || file > INT32_MAX || timeout < 0 || timeout > INT32_MAX ||
      position < (kind == RECEIVE ? -1 : 0) || position > 9007199254740991.0) {
    napi_throw_range_error(env, NULL, "socketFd, fileFd, position or timeoutMs out of range");
    return NULL;
  }
  transfer_job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  job->kind = kind;
  job->sock = (int)sock;
  job->file = (int)file;
  job->position = position < 0 ? -1 : (int64_t)position;
  job->timeout_ms = (int)timeout;
  return job;
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
  transfer_job *job = new_job(env, RECEIVE, sock, file, position, timeout);
  return job == NULL ? NULL : start_transfer(env, job, argv[4]);
}

static napi_value send_from_file(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "sendFromFile(socketFd, fileFd, position, length, timeoutMs, done) takes six arguments");
    return NULL;
  }
  double sock, file, position, length, timeout;
  if (!number_arg(env, argv[0], "socketFd must be a number", &sock) || !number_arg(env, argv[1], "fileFd must be a number", &file) ||
      !number_arg(env, argv[2], "position must be a number", &position) ||
      !number_arg(env, argv[3], "length must be a number", &length) ||
      !number_arg(env, argv[4], "timeoutMs must be a number", &timeout))
    return NULL;
  if (length < 0 || length > 9007199254740991.0) {
    napi_throw_range_error(env, NULL, "length out of range");
    return NULL;
  }
  transfer_job *job = new_job(env, SEND, sock, file, position, timeout);
  if (job == NULL) return NULL;
  job->length = (uint64_t)length;
  return start_transfer(env, job, argv[5]);
}
#endif

#ifdef __linux__
/*
 * readSmallFile(root, relative, maxBytes, done)
 *   On libuv's thread pool: opens `relative` beneath the folder `root` with openat2(2), RESOLVE_BENEATH and
 *   RESOLVE_NO_SYMLINKS (the kernel refuses any symbolic link on the way and any way out of root; a "." or ".." part
 *   is refused before, so the file is the one at that very path inside root), and when it is a regular file of at
 *   most `maxBytes` reads it whole and closes it. Then, on the JavaScript thread, done(null, buffer); or
 *   done(null, null) when it is not such a file or cannot be read this way (missing, a folder, too big, a link on the
 *   way, a kernel without openat2 ...): the caller then takes its general path, which has every check and error of
 *   its own. A file that grows while it is read is read to the size it had when opened; one that shrinks, to its
 *   new end.
 */
typedef struct {
  char *root;
  char *relative;
  size_t max_bytes;
  char *data; /* malloc'd, or NULL: not taken */
  size_t length;
  napi_ref done;
  napi_async_work work;
} small_read;

/* Whether `path` has a "." or ".." part: the file would not be the one at that very path. */
static bool has_dot_part(const char *path) {
  for (const char *part = path; *part != '\0';) {
    size_t n = strcspn(part, "/");
    if ((n == 1 && part[0] == '.') || (n == 2 && part[0] == '.' && part[1] == '.')) return true;
    part += n;
    if (*part == '/') part++;
  }
  return false;
}

/* Whether openat2(2) with RESOLVE_BENEATH answers here: one call on "/" when the addon loads. */
static bool openat2_works(void) {
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return false;
  struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
  int fd = (int)syscall(SYS_openat2, root, ".", &how, sizeof how);
  close(root);
  if (fd < 0) return false;
  close(fd);
  return true;
}

static void small_read_execute(napi_env env, void *arg) {
  (void)env;
  small_read *job = arg;
  if (has_dot_part(job->relative)) return;
  int root = open(job->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return;
  struct open_how how = {
      .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
      .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  int fd = (int)syscall(SYS_openat2, root, job->relative, &how, sizeof how);
  close(root);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= job->max_bytes) {
    size_t size = (size_t)st.st_size;
    char *data = malloc(size > 0 ? size : 1);
    size_t got = 0;
    bool ok = data != NULL;
    while (ok && got < size) {
      ssize_t n = pread(fd, data + got, size - got, (off_t)got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) ok = false;
      else if (n == 0) break; /* it shrank */
      else got += (size_t)n;
    }
    if (ok) {
      job->data = data;
      job->length = got;
    } else {
      free(data);
    }
  }
  close(fd);
}

static void small_read_complete(napi_env env, napi_status status, void *arg) {
  small_read *job = arg;
  napi_value done, undefined, argv[2];
  napi_get_undefined(env, &undefined);
  napi_get_null(env, &argv[0]);
  napi_get_null(env, &argv[1]);
  if (status == napi_ok && job->data != NULL) {
    void *copy;
    if (napi_create_buffer_copy(env, job->length, job->data, &copy, &argv[1]) != napi_ok) napi_get_null(env, &argv[1]);
  }
  napi_get_reference_value(env, job->done, &done);
  napi_delete_reference(env, job->done);
  napi_delete_async_work(env, job->work);
  free(job->data);
  free(job->root);
  free(job->relative);
  free(job);
  if (done != NULL) napi_call_function(env, undefined, done, 2, argv, NULL);
}

static napi_value read_small_file(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "readSmallFile(root, relative, maxBytes, done) takes four arguments");
    return NULL;
  }
  double max_bytes;
  napi_valuetype type;
  if (!number_arg(env, argv[2], "maxBytes must be a number", &max_bytes)) return NULL;
  if (max_bytes < 0 || max_bytes > 64 * 1024 * 1024) {
    napi_throw_range_error(env, NULL, "maxBytes out of range (0 to 64 MiB)");
    return NULL;
  }
  if (napi_typeof(env, argv[3], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "done must be a function");
    return NULL;
  }
  small_read *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  job->max_bytes = (size_t)max_bytes;
  job->root = utf8_of(env, argv[0], "root must be a string", NULL);
  job->relative = job->root == NULL ? NULL : utf8_of(env, argv[1], "relative must be a string", NULL);
  napi_value name;
  if (job->relative == NULL || napi_create_string_utf8(env, "ferry readSmallFile", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_reference(env, argv[3], 1, &job->done) != napi_ok) {
    free(job->root);
    free(job->relative);
    free(job);
    return NULL;
  }
  if (napi_create_async_work(env, NULL, name, small_read_execute, small_read_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_reference(env, job->done);
    free(job->root);
    free(job->relative);
    free(job);
    napi_throw_error(env, NULL, "cannot queue the read");
    return NULL;
  }
  return NULL;
}

/*
 * createUploadFile(root, folder, name, tempName, done)
 *   On libuv's thread pool: opens the folder `folder` beneath `root` (openat2(2) with RESOLVE_BENEATH and
 *   RESOLVE_NO_SYMLINKS, as readSmallFile; "" is root itself), looks at the entry `name` there without following it,
 *   and, when there is none or it is neither a folder nor a link, creates `tempName` beside it (O_EXCL, mode 0644
 *   less the umask). Then, on the JavaScript thread, done(null, [fileFd, folderFd, exists, size]): the temporary
 *   file's descriptor (write-only), the folder's (O_PATH, for finishUpload's renameat), whether `name` exists (1 or 0)
 *   and its size. Both descriptors belong to the caller from then on: finishUpload closes them, or the caller does.
 *   done(null, null) when this cannot be done so (the folder missing or reached through a link, the entry a folder or
 *   a link, the file not creatable, a kernel without openat2 ...): nothing was created and the caller takes its
 *   general path, which has every check and error of its own.
 */
typedef struct {
  char *root;
  char *folder;
  char *name;
  char *temp;
  int file_fd;
  int folder_fd;
  bool exists;
  double size;
  bool created;
  napi_ref done;
  napi_async_work work;
} upload_create;

/* Whether `name` is one plain entry name (not empty, no slash, not "." or ".."). */
static bool plain_name(const char *name) {
  return name[0] != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static void upload_create_execute(napi_env env, void *arg) {
  (void)env;
  upload_create *job = arg;
  if (has_dot_part(job->folder) || job->folder[0] == '/' || !plain_name(job->name) || !plain_name(job->temp)) return;
  int root = open(job->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return;
  int folder = root;
  if (job->folder[0] != '\0') {
    struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    folder = (int)syscall(SYS_openat2, root, job->folder, &how, sizeof how);
    close(root);
    if (folder < 0) return;
  }
  struct stat st;
  if (fstatat(folder, job->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)) {
      close(folder);
      return;
    }
    job->exists = true;
    job->size = (double)st.st_size;
  } else if (errno != ENOENT) {
    close(folder);
    return;
  }
  int fd = openat(folder, job->temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
  if (fd < 0) {
    close(folder);
    return;
  }
  job->file_fd = fd;
  job->folder_fd = folder;
  job->created = true;
}

static void upload_create_complete(napi_env env, napi_status status, void *arg) {
  upload_create *job = arg;
  napi_value done, undefined, argv[2];
  napi_get_undefined(env, &undefined);
  napi_get_null(env, &argv[0]);
  napi_get_null(env, &argv[1]);
  bool handed = false;
  if (status == napi_ok && job->created && napi_create_array_with_length(env, 4, &argv[1]) == napi_ok) {
    napi_value values[4];
    napi_create_int32(env, job->file_fd, &values[0]);
    napi_create_int32(env, job->folder_fd, &values[1]);
    napi_create_int32(env, job->exists ? 1 : 0, &values[2]);
    napi_create_double(env, job->size, &values[3]);
    handed = true;
    for (uint32_t i = 0; i < 4; i++) handed = handed && napi_set_element(env, argv[1], i, values[i]) == napi_ok;
  }
  if (job->created && !handed) {
    /* nobody will own them: undo */
    unlinkat(job->folder_fd, job->temp, 0);
    close(job->file_fd);
    close(job->folder_fd);
    napi_get_null(env, &argv[1]);
  }
  napi_get_reference_value(env, job->done, &done);
  napi_delete_reference(env, job->done);
  napi_delete_async_work(env, job->work);
  free(job->root);
  free(job->folder);
  free(job->name);
  free(job->temp);
  free(job);
  if (done != NULL) napi_call_function(env, undefined, done, 2, argv, NULL);
}

static napi_value create_upload_file(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "createUploadFile(root, folder, name, tempName, done) takes five arguments");
    return NULL;
  }
  napi_valuetype type;
  if (napi_typeof(env, argv[4], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "done must be a function");
    return NULL;
  }
  upload_create *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  job->file_fd = -1;
  job->folder_fd = -1;
  job->root = utf8_of(env, argv[0], "root must be a string", NULL);
  job->folder = job->root == NULL ? NULL : utf8_of(env, argv[1], "folder must be a string", NULL);
  job->name = job->folder == NULL ? NULL : utf8_of(env, argv[2], "name must be a string", NULL);
  job->temp = job->name == NULL ? NULL : utf8_of(env, argv[3], "tempName must be a string", NULL);
  napi_value name;
  if (job->temp == NULL || napi_create_string_utf8(env, "ferry createUploadFile", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_reference(env, argv[4], 1, &job->done) != napi_ok) {
    free(job->root);
    free(job->folder);
    free(job->name);
    free(job->temp);
    free(job);
    return NULL;
  }
  if (napi_create_async_work(env, NULL, name, upload_create_execute, upload_create_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_reference(env, job->done);
    free(job->root);
    free(job->folder);
    free(job->name);
    free(job->temp);
    free(job);
    napi_throw_error(env, NULL, "cannot queue the job");
    return NULL;
  }
  return NULL;
}

/*
 * finishUpload(fileFd, folderFd, buffers, tempName, name, done)
 *   On libuv's thread pool: writes `buffers` (an array of Buffers, the upload's last bytes, maybe none) to `fileFd`
 *   at its own offset, closes it, renames `tempName` to `name` in the folder `folderFd` (renameat(2)) and closes that.
 *   Both descriptors are closed whatever happens; when a step fails the temporary file is removed. Then, on the
 *   JavaScript thread, done(null, replaced) with the size of the regular file the rename replaced (-1 when there was
 *   none: the quota counts what is there at the rename, not what was there when the upload began), or done(error)
 *   with the errno's name as `code` and the failed call as `syscall` (ENOSPC from the write: the disk is full). The
 *   buffers must not change until done.
 */
typedef struct {
  int file_fd;
  int folder_fd;
  char *temp;
  char *name;
  struct iovec *parts;
  size_t count;
  int error;
  const char *syscall;
  /* The size of the regular file that `name` was just before the rename, or -1. */
  int64_t replaced;
  napi_ref buffers;
  napi_ref done;
  napi_async_work work;
} upload_finish;

static void upload_finish_execute(napi_env env, void *arg) {
  (void)env;
  upload_finish *job = arg;
  struct iovec *part = job->parts;
  size_t left = job->count;
  while (left > 0 && part->iov_len == 0) part++, left--;
  while (left > 0) {
    ssize_t n = writev(job->file_fd, part, left > IOV_MAX ? IOV_MAX : (int)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      job->error = n == 0 ? ENOSPC : errno;
      job->syscall = "write";
      break;
    }
    size_t rest = (size_t)n;
    while (left > 0 && rest >= part->iov_len) rest -= part->iov_len, part++, left--;
    if (left > 0) {
      part->iov_base = (char *)part->iov_base + rest;
      part->iov_len -= rest;
    }
  }
  if (close(job->file_fd) != 0 && job->error == 0 && errno != EINTR) {
    job->error = errno;
    job->syscall = "close";
  }
  struct stat before;
  job->replaced = -1;
  if (job->error == 0 && fstatat(job->folder_fd, job->name, &before, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(before.st_mode))
    job->replaced = (int64_t)before.st_size;
  if (job->error == 0 && renameat(job->folder_fd, job->temp, job->folder_fd, job->name) != 0) {
    job->error = errno;
    job->syscall = "rename";
  }
  if (job->error != 0) unlinkat(job->folder_fd, job->temp, 0);
  close(job->folder_fd);
}

static void upload_finish_complete(napi_env env, napi_status status, void *arg) {
  upload_finish *job = arg;
  napi_value done, undefined, error;
  napi_get_undefined(env, &undefined);
  napi_get_null(env, &error);
  int code = status == napi_ok ? job->error : ECANCELED;
  if (code != 0) {
    napi_value name, message, syscall, errno_value;
    napi_create_string_utf8(env, errno_name(code), NAPI_AUTO_LENGTH, &name);
    napi_create_string_utf8(env, strerror(code), NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, name, message, &error);
    napi_create_string_utf8(env, job->syscall ? job->syscall : "write", NAPI_AUTO_LENGTH, &syscall);
    napi_set_named_property(env, error, "syscall", syscall);
    napi_create_int32(env, -code, &errno_value);
    napi_set_named_property(env, error, "errno", errno_value);
  }
  napi_value args[2];
  args[0] = error;
  napi_create_double(env, code == 0 ? (double)job->replaced : -1, &args[1]);
  napi_get_reference_value(env, job->done, &done);
  napi_delete_reference(env, job->done);
  napi_delete_reference(env, job->buffers);
  napi_delete_async_work(env, job->work);
  free(job->parts);
  free(job->temp);
  free(job->name);
  free(job);
  if (done != NULL) napi_call_function(env, undefined, done, 2, args, NULL);
}

static napi_value finish_upload(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "finishUpload(fileFd, folderFd, buffers, tempName, name, done) takes six arguments");
    return NULL;
  }
  double file_fd, folder_fd;
  if (!number_arg(env, argv[0], "fileFd must be a number", &file_fd) ||
      !number_arg(env, argv[1], "folderFd must be a number", &folder_fd))
    return NULL;
  if (file_fd < 0 || folder_fd < 0 || file_fd > INT32_MAX || folder_fd > INT32_MAX) {
    napi_throw_range_error(env, NULL, "descriptors must be open ones");
    return NULL;
  }
  bool is_array = false;
  napi_valuetype type;
  if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "buffers must be an array of Buffers");
    return NULL;
  }
  if (napi_typeof(env, argv[5], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "done must be a function");
    return NULL;
  }
  uint32_t count = 0;
  napi_get_array_length(env, argv[2], &count);
  upload_finish *job = calloc(1, sizeof *job);
  struct iovec *parts = calloc(count > 0 ? count : 1, sizeof *parts);
  if (job == NULL || parts == NULL) {
    free(job);
    free(parts);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  job->parts = parts;
  job->count = count;
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    bool is_buffer = false;
    if (napi_get_element(env, argv[2], i, &element) != napi_ok || napi_is_buffer(env, element, &is_buffer) != napi_ok || !is_buffer ||
        napi_get_buffer_info(env, element, &parts[i].iov_base, &parts[i].iov_len) != napi_ok) {
      free(parts);
      free(job);
      napi_throw_type_error(env, NULL, "buffers must be an array of Buffers");
      return NULL;
    }
  }
  job->file_fd = (int)file_fd;
  job->folder_fd = (int)folder_fd;
  job->temp = utf8_of(env, argv[3], "tempName must be a string", NULL);
  job->name = job->temp == NULL ? NULL : utf8_of(env, argv[4], "name must be a string", NULL);
  napi_value name;
  if (job->name == NULL || !plain_name(job->temp) || !plain_name(job->name)) {
    if (job->name != NULL) napi_throw_type_error(env, NULL, "tempName and name must be plain entry names");
    free(job->temp);
    free(job->name);
    free(parts);
    free(job);
    return NULL;
  }
  if (napi_create_string_utf8(env, "ferry finishUpload", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &job->buffers) != napi_ok ||
      napi_create_reference(env, argv[5], 1, &job->done) != napi_ok ||
      napi_create_async_work(env, NULL, name, upload_finish_execute, upload_finish_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    free(job->temp);
    free(job->name);
    free(parts);
    free(job);
    napi_throw_error(env, NULL, "cannot queue the job");
    return NULL;
  }
  return NULL;
}
#endif

/*
 * returnLargeBlocks(): sets glibc's mmap threshold to 4 MiB (which also stops its growth) and the arenas' trim
 * threshold to 4 MiB, process-wide. True when glibc took both, false elsewhere (other C libraries, which keep their
 * own policy). Memory already kept in an arena stays until that arena next trims.
 */
static napi_value return_large_blocks(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef __GLIBC__
  bool ok = mallopt(M_MMAP_THRESHOLD, 4 << 20) == 1;
  ok = mallopt(M_TRIM_THRESHOLD, 4 << 20) == 1 && ok;
  return boolean(env, ok);
#else
  return boolean(env, false);
#endif
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "lstatBatch", NAPI_AUTO_LENGTH, lstat_batch, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "lstatBatch", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "returnLargeBlocks", NAPI_AUTO_LENGTH, return_large_blocks, NULL, &fn) != napi_ok)
    return NULL;
  if (napi_set_named_property(env, exports, "returnLargeBlocks", fn) != napi_ok) return NULL;
#ifdef __linux__
  if (napi_create_function(env, "receiveToFile", NAPI_AUTO_LENGTH, receive_to_file, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "receiveToFile", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "sendFromFile", NAPI_AUTO_LENGTH, send_from_file, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "sendFromFile", fn) != napi_ok) return NULL;
  /* Calls that rest on openat2(2) only where it works: not before Linux 5.6, nor where seccomp refuses it. */
  if (openat2_works()) {
    if (napi_create_function(env, "readSmallFile", NAPI_AUTO_LENGTH, read_small_file, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, "readSmallFile", fn) != napi_ok) return NULL;
    if (napi_create_function(env, "createUploadFile", NAPI_AUTO_LENGTH, create_upload_file, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, "createUploadFile", fn) != napi_ok) return NULL;
    if (napi_create_function(env, "finishUpload", NAPI_AUTO_LENGTH, finish_upload, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, "finishUpload", fn) != napi_ok) return NULL;
  }
#endif
  return exports;
}
