"""Where an instance lies: start poses for the physics drop (pure) and the rigid-body drop itself."""
