"""The monthly report figures: computed from the store's rows and the config (`figures`), and
written as CSV (`export`). Pure: the store reads, the web serves."""
