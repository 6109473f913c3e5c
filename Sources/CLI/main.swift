print("segvol")
