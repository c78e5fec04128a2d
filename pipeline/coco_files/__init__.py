"""COCO keypoint folders as every stage reads and writes them: files, masks and RLE, the one validator
(asked for by need) and the dataset stats.
"""
