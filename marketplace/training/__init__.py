"""The training clock (issue 20): in development and in a TRAINING_MODE deployment, an admin moves the
platform's time forward so every journey (opening, evaluation, finality windows) can be walked from the UI."""
