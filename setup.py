"""Build hook: compile the scheduler's Cython modules."""

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension("lamina.scheduler._state", ["lamina/scheduler/_state.pyx"]),
    Extension("lamina.scheduler._execute", ["lamina/scheduler/_execute.pyx"]),
]

setup(ext_modules=cythonize(extensions, language_level=3))
