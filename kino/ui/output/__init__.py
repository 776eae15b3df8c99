"""Output widgets: text, markdown, images, trees and downloads (Kino.Text, Kino.Markdown,
Kino.Image, Kino.Tree, Kino.Download)."""

from kino.ui.output.download import MAX_DOWNLOAD_BYTES, Download, download
from kino.ui.output.image import MAX_IMAGE_PIXELS, Image, image
from kino.ui.output.markdown import Markdown, markdown
from kino.ui.output.text import Text, text
from kino.ui.output.tree import MAX_TREE_NODES, Tree, tree

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
