"""Smart cells: forms that write their code into the notebook (Livebook's smart cells).

Each is a :class:`kino.ui.smart.SmartCell`; call one in a cell (or insert it with
"Kino: Insert smart cell") and its code appears in the cell below::

    kino.smart.chart_builder()

``CELLS`` lists them by ``kind``; the plugin's menu lists the same (a test compares).
"""

from kino._lazy import lazy_exports

# kind -> "module:class"; the lowercase names are the classes themselves. A module may
# not share its kind's name: importing it would set kino.smart.<kind> to the module
# (tests/test_architecture.py), so the modules are private: _<kind>.py.
CELLS = {
    "train_model": "._train_model:TrainModel",
    "neural_network_task": "._neural_network_task:NeuralNetworkTask",
    "chart_builder": "._chart_builder:ChartBuilder",
    "data_transform": "._data_transform:DataTransform",
    "data_source": "._data_source:DataSource",
}

__all__ = sorted(CELLS)

__getattr__ = lazy_exports(__name__, CELLS)
