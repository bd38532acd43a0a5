#!/usr/bin/env python3
"""A TCP server on 127.0.0.1 that accepts every connection and never
answers: the hang case's stalled database and API. Prints its port, then
serves until killed."""
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(64)
print(server.getsockname()[1], flush=True)
held = []
while True:
    conn, _ = server.accept()
    held.append(conn)
