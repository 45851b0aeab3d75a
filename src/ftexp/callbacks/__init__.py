"""Lightning callbacks shipped with ftexp."""
