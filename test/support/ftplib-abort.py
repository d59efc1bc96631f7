"""Drives Ferry with Python's ftplib to abort transfers; prints one JSON object with the replies it got.

    python3 ftplib-abort.py <port> <user> <password> <scenario> [<local file>]

Scenarios:
  upload <file>            STOR big.bin from the local file
  download <file>          RETR big.bin, ftplib's abort() after 1 MiB, then REST + RETR for the rest;
                           the SHA-256 of everything received against the local file's
  download-<style>         RETR big.bin, aborted after 1 MiB with the bytes of <style> (see STYLES), then NOOP
  list-waiting             LIST whose data connection is never opened, then abort()
  list                     retrlines('LIST') with abort() from the first line's callback, then PWD
  idle                     abort() with no transfer, then PWD

ftplib's abort() raises unless the first reply is 426, 225 or 226, and voidresp() raises on anything but 2xx.
"""

import ftplib
import hashlib
import json
import socket
import sys

# What classic clients send to abort; each entry is a list of (bytes, flags) sends.
STYLES = {
    # Python's own ftplib: ABOR as urgent data (its LF is the urgent byte).
    "ftplib": [(b"ABOR\r\n", socket.MSG_OOB)],
    # Telnet IP and Synch before ABOR, the whole line sent as urgent data.
    "telnet": [(b"\xff\xf4\xff\xf2ABOR\r\n", socket.MSG_OOB)],
    # RFC 959 4.1.3: IAC IP, then the Synch (IAC DM with DM as the urgent byte), then ABOR.
    "rfc959": [(b"\xff\xf4\xff", 0), (b"\xf2", socket.MSG_OOB), (b"ABOR\r\n", 0)],
    # BSD ftp: IAC IP IAC with the last IAC urgent, then DM and ABOR.
    "bsd": [(b"\xff\xf4\xff", socket.MSG_OOB), (b"\xf2ABOR\r\n", 0)],
}


def abort_with(ftp: ftplib.FTP, style: str) -> str:
    """Sends ABOR as `style` does and checks the first reply as ftplib's abort() does."""
    for data, flags in STYLES[style]:
        ftp.sock.sendall(data, flags)
    resp = ftp.getmultiline()
    if resp[:3] not in {"426", "225", "226"}:
        raise ftplib.error_proto(resp)
    return resp


def drain(conn: socket.socket, into: bytearray) -> None:
    """Reads the data connection until the server closes it."""
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return
            into += chunk
    except OSError:
        return


def start_download(ftp: ftplib.FTP) -> tuple[socket.socket, bytearray]:
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR big.bin")
    got = bytearray()
    while len(got) < 1 << 20:
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += chunk
    return conn, got


def main() -> None:
    port, user, password, scenario = sys.argv[1:5]
    local = sys.argv[5] if len(sys.argv) > 5 else None
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", int(port), timeout=30)
    ftp.login(user, password)
    out: dict = {}
    if scenario == "upload":
        with open(local, "rb") as f:
            out["stored"] = ftp.storbinary("STOR big.bin", f)
    elif scenario == "download":
        conn, got = start_download(ftp)
        out["abort"] = ftp.abort()
        drain(conn, got)
        conn.close()
        out["final"] = ftp.voidresp()
        out["received"] = len(got)
        out["resumed"] = ftp.retrbinary("RETR big.bin", got.extend, rest=len(got))
        with open(local, "rb") as f:
            out["sha256"] = {"local": hashlib.sha256(f.read()).hexdigest(), "received": hashlib.sha256(got).hexdigest()}
    elif scenario.startswith("download-"):
        conn, got = start_download(ftp)
        out["abort"] = abort_with(ftp, scenario[len("download-") :])
        drain(conn, got)
        conn.close()
        out["final"] = ftp.voidresp()
        out["noop"] = ftp.voidcmd("NOOP")
    elif scenario == "list-waiting":
        ftp.voidcmd("TYPE A")
        ftp.makepasv()  # PASV, and no connection to the port it names
        out["list"] = ftp.sendcmd("LIST")
        out["abort"] = ftp.abort()
        out["final"] = ftp.voidresp()
        out["pwd"] = ftp.pwd()
    elif scenario == "list":
        replies: list[str] = []

        def on_line(_line: str) -> None:
            if not replies:
                replies.append(ftp.abort())

        replies.append(ftp.retrlines("LIST", on_line))
        out["replies"] = replies
        out["pwd"] = ftp.pwd()
    elif scenario == "idle":
        out["abort"] = ftp.abort()
        out["pwd"] = ftp.pwd()
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    out["quit"] = ftp.quit()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
