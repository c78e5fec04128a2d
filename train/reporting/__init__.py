"""What a run says: the `report` stage, its page, the headline rows and the verdict."""
