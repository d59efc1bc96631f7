"""One FTP session with Python's ftplib, the way a client that trusts the 227 address behaves.

usage: ftplib-client.py HOST USER PASSWORD MODE TLS [REPEAT]
  MODE passive|active, TLS plain|ftps. Lists the home folder, downloads hello.txt, quits.
  With REPEAT, downloads hello.txt REPEAT times instead, going on after failed attempts, and reports
  how many worked ("worked") and failed ("failed").
Prints one JSON line: {"ok": bool, "step": the step that failed or "done", "error": text}.
"""
import ftplib
import json
import socket
import sys

host, user, password, mode, tls = sys.argv[1:6]
repeat = int(sys.argv[6]) if len(sys.argv) > 6 else 0
TIMEOUT = 4
step = "connect"
client = None
try:
    client = ftplib.FTP_TLS(timeout=TIMEOUT) if tls == "ftps" else ftplib.FTP(timeout=TIMEOUT)
    client.trust_server_pasv_ipv4_address = True
    client.connect(host, 21)
    step = "login"
    client.login(user, password)
    if tls == "ftps":
        step = "prot"
        client.prot_p()
    client.set_pasv(mode == "passive")
    if repeat:
        step = "repeat"
        worked = failed = 0
        for _ in range(repeat):
            try:
                client.retrbinary("RETR hello.txt", lambda chunk: None)
                worked += 1
            except (OSError, ftplib.Error):
                failed += 1
        client.quit()
        print(json.dumps({"ok": failed == 0, "step": "done", "error": "", "worked": worked, "failed": failed}))
        sys.exit(0)
    step = "list"
    lines = []
    client.retrlines("LIST", lines.append)
    step = "download"
    data = bytearray()
    client.retrbinary("RETR hello.txt", data.extend)
    step = "quit"
    client.quit()
    print(json.dumps({"ok": True, "step": "done", "error": "", "listed": len(lines), "bytes": len(data)}))
except (OSError, EOFError, ftplib.Error, socket.timeout) as error:
    if client is not None:
        try:
            client.quit()
        except Exception:
            client.close()
    print(json.dumps({"ok": False, "step": step, "error": f"{type(error).__name__}: {error}"}))
