"""Build hook: compile the Cython modules (scheduler state machine and loop, 2-bit codes and their products, wire parser, parquet footer walker)."""

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension("lamina.scheduler._state", ["lamina/scheduler/_state.pyx"]),
    Extension("lamina.scheduler._execute", ["lamina/scheduler/_execute.pyx"]),
    Extension("lamina.scheduler._records", ["lamina/scheduler/_records.pyx"]),
    Extension("lamina.scheduler._placement", ["lamina/scheduler/_placement.pyx"]),
    Extension("lamina.layers.linalg._bits", ["lamina/layers/linalg/_bits.pyx"],
              depends=["lamina/layers/linalg/_codes.h"]),
    Extension("lamina.layers.linalg._colpack", ["lamina/layers/linalg/_colpack.pyx"]),
    Extension("lamina.layers.linalg._lut", ["lamina/layers/linalg/_lut.pyx"],
              depends=["lamina/layers/linalg/_lut.h", "lamina/layers/linalg/_codes.h"]),
    Extension("lamina.comm._unpack", ["lamina/comm/_unpack.pyx"]),
    Extension("lamina.layers.frame._footer", ["lamina/layers/frame/_footer.pyx"]),
]

setup(ext_modules=cythonize(extensions, language_level=3))
