"""Intake: the hotfolder watched and settled files claimed into the spool (a burst in batches),
uploads and reruns through staging folders, old originals removed by retention."""
