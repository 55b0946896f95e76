#!/usr/bin/python3
# bench/delay-proxy.py PORT_FILE TARGET_PORT RTT_MS: a TCP proxy on a
# kernel-chosen loopback port (written to PORT_FILE) that relays to
# 127.0.0.1:TARGET_PORT and delays every chunk by half of RTT_MS in each
# direction: a slow link for the benches (round-trips.sh, queue-flush.sh).
import asyncio, sys
listen_port_file, target_port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) / 2000

async def pump(reader, writer):
    loop = asyncio.get_running_loop()
    while True:
        data = await reader.read(65536)
        if not data:
            loop.call_later(delay, writer.close)
            return
        loop.call_later(delay, writer.write, data)

async def handle(cr, cw):
    sr, sw = await asyncio.open_connection("127.0.0.1", target_port)
    await asyncio.gather(pump(cr, sw), pump(sr, cw), return_exceptions=True)

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    with open(listen_port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.sockets[0].getsockname()[1])
    import os
    os.rename(listen_port_file + ".tmp", listen_port_file)
    async with server:
        await server.serve_forever()

asyncio.run(main())
