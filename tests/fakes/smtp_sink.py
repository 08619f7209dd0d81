#!/usr/bin/python3
"""A local SMTP server for tests (Debian's python3-aiosmtpd).

Usage: smtp_sink.py PORT OUTDIR
Listens on 127.0.0.1:PORT and writes every message it receives to OUTDIR/NNN.eml as
"MAIL FROM: <from>\\nRCPT TO: <to>,<to>\\n\\n<the message as received>". Writes OUTDIR/ready
once it accepts connections, and stops on SIGTERM.
"""
import os
import signal
import sys
import time

from aiosmtpd.controller import Controller


class Saver:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.outdir, "%03d.eml" % self.count)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode()
        head = "MAIL FROM: %s\nRCPT TO: %s\n\n" % (envelope.mail_from, ",".join(envelope.rcpt_tos))
        with open(path + ".tmp", "wb") as f:
            f.write(head.encode() + content)
        os.rename(path + ".tmp", path)
        return "250 OK"


def main():
    port, outdir = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Saver(outdir), hostname="127.0.0.1", port=port)
    controller.start()
    open(os.path.join(outdir, "ready"), "w").close()
    signal.signal(signal.SIGTERM, lambda *_: (controller.stop(), sys.exit(0)))
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
