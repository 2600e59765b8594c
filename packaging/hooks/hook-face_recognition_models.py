# face_recognition_models for the Photolens bundle: no data files from the hook. The spec adds
# the weights the face pass loads (packaging/bundle_faces.py); pyinstaller-hooks-contrib's hook
# would add every .dat in the package (130 MB, the 95-MB 68-point predictor among them).
datas = []
