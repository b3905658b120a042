/*
 * libssh2-upload: the fastest upload a libssh2 client can make on this machine, without islet.
 *
 *   libssh2-upload sftp|exec HOST USER KEY FILE DESTINATION
 *
 * The upload benchmark (./upload) runs it beside `islet debug upload` and `scp` to separate what islet
 * costs from what the library costs. It uses the same library (Debian's libssh2, linked like islet)
 * and the same algorithms islet offers first (aes128-ctr, hmac-sha2-256), in blocking mode:
 *   sftp  writes FILE in 4 MiB buffers with libssh2_sftp_write, which pipelines 30,000-byte SFTP writes
 *         (what islet's SFTP upload does, minus islet);
 *   exec  streams FILE into `cat > DESTINATION` over one exec channel: no SFTP at all, the least work a
 *         libssh2 client can do per byte.
 * It skips host-key verification: a benchmark tool for a testbed node on a loopback address only.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char buffer[4 << 20];

static int fail(const char *what) {
    fprintf(stderr, "libssh2-upload: %s failed\n", what);
    return 1;
}

static int send_all(LIBSSH2_CHANNEL *channel, const char *bytes, ssize_t length) {
    while (length > 0) {
        ssize_t written = libssh2_channel_write(channel, bytes, (size_t)length);
        if (written < 0) return -1;
        bytes += written;
        length -= written;
    }
    return 0;
}

static int write_all(LIBSSH2_SFTP_HANDLE *handle, const char *bytes, ssize_t length) {
    while (length > 0) {
        ssize_t written = libssh2_sftp_write(handle, bytes, (size_t)length);
        if (written < 0) return -1;
        bytes += written;
        length -= written;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 7 || (strcmp(argv[1], "sftp") && strcmp(argv[1], "exec"))) {
        fprintf(stderr, "usage: libssh2-upload sftp|exec HOST USER KEY FILE DESTINATION\n");
        return 2;
    }
    const char *mode = argv[1], *host = argv[2], *user = argv[3], *key = argv[4], *file = argv[5];
    const char *destination = argv[6];
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(22)};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1 || (ntohl(address.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "libssh2-upload: HOST must be an IPv4 loopback address (127.0.0.0/8)\n");
        return 2;
    }
    int input = open(file, O_RDONLY);
    if (input < 0) return fail("open");
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    if (tcp < 0 || connect(tcp, (struct sockaddr *)&address, sizeof address) != 0) return fail("connect");

    if (libssh2_init(0) != 0) return fail("libssh2_init");
    LIBSSH2_SESSION *session = libssh2_session_init();
    libssh2_session_method_pref(session, LIBSSH2_METHOD_CRYPT_CS, "aes128-ctr");
    libssh2_session_method_pref(session, LIBSSH2_METHOD_MAC_CS, "hmac-sha2-256");
    if (libssh2_session_handshake(session, tcp) != 0) return fail("handshake");
    if (libssh2_userauth_publickey_fromfile(session, user, NULL, key, NULL) != 0) return fail("authentication");

    ssize_t length;
    if (!strcmp(mode, "exec")) {
        char command[4096];
        /* DESTINATION comes from the benchmark script: a plain path, single-quoted here. */
        if (strchr(destination, '\'') || snprintf(command, sizeof command, "cat > '%s'", destination) >= (int)sizeof command)
            return fail("quoting the destination");
        LIBSSH2_CHANNEL *channel = libssh2_channel_open_session(session);
        if (!channel || libssh2_channel_exec(channel, command) != 0) return fail("exec");
        while ((length = read(input, buffer, sizeof buffer)) > 0)
            if (send_all(channel, buffer, length) != 0) return fail("channel write");
        libssh2_channel_send_eof(channel);
        libssh2_channel_wait_eof(channel);
        libssh2_channel_wait_closed(channel);
        if (libssh2_channel_get_exit_status(channel) != 0) return fail("cat on the node");
    } else {
        LIBSSH2_SFTP *sftp = libssh2_sftp_init(session);
        if (!sftp) return fail("sftp init");
        LIBSSH2_SFTP_HANDLE *handle = libssh2_sftp_open(
            sftp, destination, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, 0600);
        if (!handle) return fail("sftp open");
        while ((length = read(input, buffer, sizeof buffer)) > 0)
            if (write_all(handle, buffer, length) != 0) return fail("sftp write");
        if (libssh2_sftp_close(handle) != 0) return fail("sftp close");
        libssh2_sftp_shutdown(sftp);
    }
    if (length < 0) return fail("read");
    libssh2_session_disconnect(session, "done");
    libssh2_session_free(session);
    close(tcp);
    return 0;
}
