#!/usr/bin/env python
# The docs' worker.py with its sleep removed; the host, port and queue come
# from the environment so tests can point it at their own redis-server.
# Each processed item is printed as "Working on <item>".

import os
import rediswq

host = os.environ.get("REDIS_HOST", "redis")
port = int(os.environ.get("REDIS_PORT", "6379"))
q = rediswq.RedisWQ(name=os.environ.get("QUEUE", "job2"), host=host, port=port)
print("Worker with sessionID: " + q.sessionID())
print("Initial queue state: empty=" + str(q.empty()))
while not q.empty():
  item = q.lease(lease_secs=10, block=True, timeout=2)
  if item is not None:
    itemstr = item.decode("utf-8", "backslashreplace")
    print("Working on " + itemstr, flush=True)
    q.complete(item)
  else:
    print("Waiting for work")
print("Queue empty, exiting")
