#!/usr/bin/env python
# The worker of the Kubernetes docs' "Fine Parallel Processing Using a Work
# Queue" (job-wq-2/worker.py), as its users write it: Redis at host "redis"
# (cluster DNS), no password, the queue name hard-coded. Two changes: the
# docs' 10 s of pretend work is WORK_SECONDS (default 0.1 s), and lines are
# flushed as they are printed. It runs with rediswq.py from
# pkg/queue/testdata (the docs' client) in the image that hack/images.sh
# builds for the e2e suite (TestDocsPattern).
#
# It must not read REDIS_PORT or REDIS_HOST: Kubernetes sets REDIS_PORT to
# "tcp://10.96.x.y:6379" in every pod of a namespace with a Service named
# redis (service links).

import os
import time
import rediswq

host="redis"
# Uncomment next two lines if you do not have Kube-DNS working.
# import os
# host = os.getenv("REDIS_SERVICE_HOST")

q = rediswq.RedisWQ(name="job2", host=host)
print("Worker with sessionID: " +  q.sessionID(), flush=True)
print("Initial queue state: empty=" + str(q.empty()), flush=True)
while not q.empty():
  item = q.lease(lease_secs=10, block=True, timeout=2)
  if item is not None:
    itemstr = item.decode("utf-8")
    print("Working on " + itemstr, flush=True)
    time.sleep(float(os.getenv("WORK_SECONDS", "0.1"))) # Put your actual work here instead of sleep.
    q.complete(item)
  else:
    print("Waiting for work", flush=True)
print("Queue empty, exiting", flush=True)
