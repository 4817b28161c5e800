"""The teaching layer (installed with the ``[notebook]`` extra): the notebooks' set-up cell
(`notebook`), quizzes (`quiz`, `quizzes/`), figures and explorers (`viz/`) and the chapters'
measured experiments (`experiments/`).

It draws and teaches; every number it shows is computed by the library (`gopherlite`), which
never imports this package. Importing it starts neither JAX nor a widget library, so a
notebook's first cell can still ask for simulated devices.
"""
