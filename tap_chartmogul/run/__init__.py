"""The run-time of one tap run: listings read ahead, one paced transport, output, progress.

``context.RunContext`` is the run; ``listings`` what each stream fetches, ``session``,
``pacing`` and ``deadline`` how requests are sent, ``output`` the Singer writer,
``progress`` the counters and log lines, ``workers`` the background threads. Nothing
here imports a stream: streams register their listings with the run.
"""
