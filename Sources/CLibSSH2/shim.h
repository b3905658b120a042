#ifndef ISLET_CLIBSSH2_SHIM_H
#define ISLET_CLIBSSH2_SHIM_H

#include <libssh2.h>
#include <libssh2_sftp.h>
#include <string.h>

/*
 * Swift imports no function-like macros, and libssh2 spells much of its API
 * as macros over *_ex functions. These wrappers take explicit byte lengths so
 * that Swift passes utf8.count rather than relying on strlen.
 */

static inline LIBSSH2_CHANNEL *islet_channel_open_session(LIBSSH2_SESSION *session) {
    return libssh2_channel_open_ex(session, "session", sizeof("session") - 1,
                                   LIBSSH2_CHANNEL_WINDOW_DEFAULT,
                                   LIBSSH2_CHANNEL_PACKET_DEFAULT, NULL, 0);
}

static inline int islet_channel_exec(LIBSSH2_CHANNEL *channel,
                                     const char *command, unsigned int command_len) {
    return libssh2_channel_process_startup(channel, "exec", sizeof("exec") - 1,
                                           command, command_len);
}

static inline ssize_t islet_channel_read(LIBSSH2_CHANNEL *channel, char *buf, size_t len) {
    return libssh2_channel_read_ex(channel, 0, buf, len);
}

static inline ssize_t islet_channel_read_stderr(LIBSSH2_CHANNEL *channel, char *buf, size_t len) {
    return libssh2_channel_read_ex(channel, SSH_EXTENDED_DATA_STDERR, buf, len);
}

static inline ssize_t islet_channel_write(LIBSSH2_CHANNEL *channel, const char *buf, size_t len) {
    return libssh2_channel_write_ex(channel, 0, buf, len);
}

static inline LIBSSH2_CHANNEL *islet_channel_direct_tcpip(LIBSSH2_SESSION *session,
                                                          const char *host, int port) {
    /* The originator address is informational; OpenSSH only logs it. */
    return libssh2_channel_direct_tcpip_ex(session, host, port, "127.0.0.1", 22);
}

static inline int islet_session_disconnect(LIBSSH2_SESSION *session, const char *description) {
    return libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION,
                                         description, "");
}

static inline LIBSSH2_SFTP_HANDLE *islet_sftp_open(LIBSSH2_SFTP *sftp,
                                                   const char *path, unsigned int path_len,
                                                   unsigned long flags, long mode) {
    return libssh2_sftp_open_ex(sftp, path, path_len, flags, mode, LIBSSH2_SFTP_OPENFILE);
}

static inline int islet_sftp_fsetstat(LIBSSH2_SFTP_HANDLE *handle, LIBSSH2_SFTP_ATTRIBUTES *attrs) {
    return libssh2_sftp_fstat_ex(handle, attrs, 1);
}

static inline int islet_sftp_stat(LIBSSH2_SFTP *sftp, const char *path, unsigned int path_len,
                                  LIBSSH2_SFTP_ATTRIBUTES *attrs) {
    return libssh2_sftp_stat_ex(sftp, path, path_len, LIBSSH2_SFTP_STAT, attrs);
}

static inline int islet_sftp_setstat(LIBSSH2_SFTP *sftp, const char *path, unsigned int path_len,
                                     LIBSSH2_SFTP_ATTRIBUTES *attrs) {
    return libssh2_sftp_stat_ex(sftp, path, path_len, LIBSSH2_SFTP_SETSTAT, attrs);
}

static inline int islet_sftp_realpath(LIBSSH2_SFTP *sftp, const char *path, unsigned int path_len,
                                      char *target, unsigned int target_len) {
    return libssh2_sftp_symlink_ex(sftp, path, path_len, target, target_len,
                                   LIBSSH2_SFTP_REALPATH);
}

static inline int islet_sftp_rename(LIBSSH2_SFTP *sftp,
                                    const char *from, unsigned int from_len,
                                    const char *to, unsigned int to_len) {
    return libssh2_sftp_rename_ex(sftp, from, from_len, to, to_len,
                                  LIBSSH2_SFTP_RENAME_OVERWRITE |
                                  LIBSSH2_SFTP_RENAME_ATOMIC |
                                  LIBSSH2_SFTP_RENAME_NATIVE);
}

/* The constants below are macros Swift imports with awkward types. */
static const int islet_session_block_inbound = LIBSSH2_SESSION_BLOCK_INBOUND;
static const int islet_session_block_outbound = LIBSSH2_SESSION_BLOCK_OUTBOUND;

#endif
