"""``python -m ftexp.study <dir>``: a fair, resumable method comparison.

For each method: a learning-rate search on the validation split (the method's own rate times
each ``--lr-factors``, first seed; with ``--widen N``, up to N more rates past the grid's edge
while the best is on it), then every ``--seeds`` at the best rate; the table gives test
accuracy and F1 as mean +- std over seeds, with cost columns and a flag for runs that collapsed
to one class. Each job is keyed by its resolved config: its result is kept under
``<dir>/results/<key>.json``, so a rerun (or a killed study, started again) runs only what is
missing, and a job interrupted after a checkpoint resumes from its ``last.ckpt``. A failing job
is recorded with its reason and the others go on. Studies started side by side on one folder
share its jobs: each runs the free jobs of a grid and takes the others' results.
``--baselines`` adds rows that train nothing (``+baseline=zero_shot``, ``few_shot``: SmolLM2
prompted), run at every seed on the same split.
"""
