"""pymongo smoke test: a client nobody here wrote. Usage: /usr/bin/python3 pymongo_smoke.py URI DBNAME

Inserts, queries, and runs a with_transaction; prints OK on success, raises otherwise.
"""
import sys

from pymongo import ASCENDING, MongoClient
from pymongo.errors import DuplicateKeyError

uri, dbname = sys.argv[1], sys.argv[2]
client = MongoClient(uri, serverSelectionTimeoutMS=5000)
try:
    db = client[dbname]
    people = db.people
    people.create_index([("email", ASCENDING)], unique=True)
    people.insert_many([{"email": "a@x", "age": 30}, {"email": "b@x", "age": 40}])
    assert people.find_one({"email": "a@x"})["age"] == 30
    assert [p["email"] for p in people.find({"age": {"$gte": 35}}).sort("email")] == ["b@x"]
    assert people.count_documents({}) == 2
    try:
        people.insert_one({"email": "a@x"})
        raise AssertionError("duplicate key was accepted")
    except DuplicateKeyError as err:
        assert err.code == 11000

    def transfer(session):
        people.update_one({"email": "a@x"}, {"$inc": {"age": -1}}, session=session)
        people.update_one({"email": "b@x"}, {"$inc": {"age": 1}}, session=session)

    with client.start_session() as session:
        session.with_transaction(transfer)
    ages = {p["email"]: p["age"] for p in people.find()}
    assert ages == {"a@x": 29, "b@x": 41}, ages

    many = db.many
    many.insert_many([{"i": i} for i in range(1000)])
    assert sum(1 for _ in many.find().batch_size(100)) == 1000
    client.drop_database(dbname)
    print("OK")
finally:
    client.close()
