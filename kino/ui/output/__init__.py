"""Output widgets: text, markdown, images, trees and downloads (Kino.Text, Kino.Markdown,
Kino.Image, Kino.Tree, Kino.Download).

The lowercase names are the classes themselves (``kino.markdown`` is :class:`Markdown`).
Each shares its name with the module that defines its class (``kino.ui.output.markdown``);
the package attribute is the class, and ``importlib.import_module`` reaches the module.

>>> import kino
>>> kino.markdown is Markdown and kino.text is Text
True
"""

from kino.ui.output.download import MAX_DOWNLOAD_BYTES, Download
from kino.ui.output.image import MAX_IMAGE_PIXELS, Image
from kino.ui.output.markdown import Markdown
from kino.ui.output.text import Text
from kino.ui.output.tree import MAX_TREE_NODES, Tree

# The public lowercase names: plain aliases of the classes (never a second signature).
download = Download
image = Image
markdown = Markdown
text = Text
tree = Tree

__all__ = [
    "MAX_DOWNLOAD_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_TREE_NODES",
    "Download",
    "Image",
    "Markdown",
    "Text",
    "Tree",
    "download",
    "image",
    "markdown",
    "text",
    "tree",
]
