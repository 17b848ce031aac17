"""Name pools for the labelled duplicate data set (all people are invented).

Real names form the frequent head of each Zipf distribution (so common names collide in a school,
as they do); the long tail is made of syllables, so a million children do not all share a few
hundred names. Head given names include many with nicknames (William, Katherine, Francisco...).
"""

from __future__ import annotations

HEAD_GIVEN = [
    "Sophia", "Liam", "Olivia", "Noah", "Emma", "Mateo", "Isabella", "Santiago", "Mia", "James",
    "Ava", "William", "Camila", "Benjamin", "Sofia", "Alexander", "Valentina", "Daniel", "Emily",
    "Michael", "Elizabeth", "Sebastian", "Abigail", "Jacob", "Victoria", "Samuel", "Natalie",
    "Matthew", "Madison", "Joseph", "Katherine", "Anthony", "Jessica", "Christopher", "Samantha",
    "Jonathan", "Rebecca", "Nicholas", "Margaret", "David", "Jennifer", "Joshua", "Gabriela",
    "Andrew", "Daniela", "Robert", "Alexandra", "Thomas", "Patricia", "Francisco", "Guadalupe",
    "Jose", "Mariana", "Alejandro", "Natalia", "Eduardo", "Ximena", "Guillermo", "Lucia",
    "Enrique", "Fernanda", "Ignacio", "Regina", "Jesus", "Elena", "Manuel", "Rosario", "Antonio",
    "Dolores", "Luis", "Teresa", "Fernando", "Isabel", "Carlos", "Mercedes", "Ethan", "Chloe",
    "Aiden", "Grace", "Lucas", "Zoe", "Elijah", "Layla", "Logan", "Nora", "Mason", "Lily",
    "Caleb", "Hannah", "Isaac", "Ella", "Wyatt", "Aria", "Owen", "Scarlett", "Henry", "Hazel",
    "Jackson", "Aurora", "Levi", "Stella", "Dylan", "Maya", "Nathan", "Leah", "Ryan", "Amelia",
    "Adrian", "Harper", "Gabriel", "Evelyn", "Julian", "Riley", "Christian", "Penelope",
    "Dominic", "Claire", "Kevin", "Violet", "Brandon", "Savannah", "Tyler", "Brooklyn", "Jordan",
    "Aaliyah", "Jayden", "Naomi", "Angel", "Ruby", "Diego", "Alice", "Miguel", "Paisley",
    "Wei", "Mei", "Hiroshi", "Yuki", "Minh", "Linh", "Arjun", "Priya", "Omar", "Fatima",
    "Yusuf", "Aisha", "Ibrahim", "Zara", "Tariq", "Nadia", "Dmitri", "Anya", "Kwame", "Amara",
]  # fmt: skip
HEAD_FAMILY = [
    "Garcia", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Smith", "Johnson",
    "Williams", "Brown", "Jones", "Perez", "Sanchez", "Ramirez", "Torres", "Flores", "Rivera",
    "Gomez", "Diaz", "Nguyen", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas",
    "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
    "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams",
    "Nelson", "Baker", "Hall", "Campbell", "Mitchell", "Carter", "Roberts", "Cruz", "Morales",
    "Reyes", "Ortiz", "Gutierrez", "Chavez", "Ramos", "Ruiz", "Alvarez", "Mendoza", "Castillo",
    "Jimenez", "Vasquez", "Moreno", "Romero", "Herrera", "Medina", "Aguilar", "Vargas", "Castro",
    "Guzman", "Fernandez", "Juarez", "Delgado", "Salazar", "Soto", "Vega", "Rojas", "Tran",
    "Pham", "Le", "Huynh", "Vo", "Chen", "Wang", "Li", "Zhang", "Liu", "Yang", "Huang", "Wu",
    "Kim", "Park", "Choi", "Patel", "Shah", "Singh", "Kumar", "Khan", "Ali", "Ahmed", "Hassan",
    "Cohen", "Levy", "Murphy", "Kelly", "Sullivan", "Walsh", "Ryan", "Brennan", "Okafor",
    "Mensah", "Diallo", "Petrov", "Ivanova", "Kowalski", "Novak", "Silva", "Santos", "Costa",
    "Rossi", "Russo", "Muller", "Schmidt", "Dubois", "Moreau", "Tanaka", "Suzuki", "Sato",
]  # fmt: skip
ADULT_GIVEN = [
    "Maria", "Jose", "Juan", "Ana", "Luis", "Rosa", "Carlos", "Laura", "Jorge", "Claudia",
    "Michael", "Jennifer", "David", "Sarah", "Robert", "Jessica", "James", "Michelle", "John",
    "Amanda", "Christopher", "Melissa", "Brian", "Nicole", "Kevin", "Stephanie", "Jason",
    "Heather", "Eric", "Rachel", "Thi", "Van", "Hong", "Ming", "Ravi", "Sunita", "Ahmed",
    "Fatima", "Olga", "Sergei", "Grace", "Peter", "Patricia", "Richard", "Linda", "William",
    "Elizabeth", "Daniel", "Susan", "Thomas", "Karen", "Francisco", "Guadalupe", "Antonio",
    "Teresa", "Manuel", "Veronica", "Ricardo", "Adriana", "Miguel", "Alejandra",
]  # fmt: skip
# Twins whose names look alike: the hard negatives of the twin guard.
TWIN_NAME_PAIRS = [
    ("Jaden", "Jalen"), ("Ava", "Eva"), ("Mia", "Mya"), ("Ella", "Emma"), ("Lily", "Lila"),
    ("Ethan", "Evan"), ("Madison", "Mason"), ("Aiden", "Jaden"), ("Liam", "Leah"),
    ("Kayla", "Kyla"), ("Dylan", "Dillon"), ("Julian", "Julia"),
    ("Daniel", "Daniela"), ("Gabriel", "Gabriela"), ("Adrian", "Adriana"),
]  # fmt: skip
ONSETS = ["b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br",
          "ch", "st", "th", "tr", "kl", "sh", "gr", "j"]  # fmt: skip
NUCLEI = ["a", "e", "i", "o", "u", "ai", "ei", "ou", "ia"]
CODAS = ["", "n", "r", "l", "s", "th", "nd", "rk", "m", "x"]


def sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"
