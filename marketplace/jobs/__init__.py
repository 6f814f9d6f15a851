"""The scheduled jobs: what they are (``registry``), how one runs (``runner``, the job's transaction
edge), when they run (``scheduler``), the ``flask jobs`` commands (``cli``) and the admins' run log
(``views``, ruled by ``policy``)."""
