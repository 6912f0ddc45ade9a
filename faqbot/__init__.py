"""faqbot: answers privacy questions from cited documents, keeping no record of what was asked."""

__version__ = "0.1.0"
